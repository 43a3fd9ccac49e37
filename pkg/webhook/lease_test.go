package webhook_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"canistry/pkg/lifecycle/runtest"
	"canistry/pkg/registry"
	"canistry/pkg/webhook"
)

// TestWorker_TwoWorkers runs two workers, each on its own connection to one database file (two
// notifiers), against one endpoint: only the lease holder delivers, so every event arrives
// once, in order, and no request ever overlaps another. When the holder stops, the other takes
// over from the cursor.
func TestWorker_TwoWorkers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.db")
	s1, s2 := openStore(t, path), openStore(t, path)
	rx := newGoReceiver(t)
	hook := createWebhook(t, s1, rx.url(), registry.EventFilter{})
	rx.setSecret(hook.Secret)
	cfg := webhook.Config{LocalDev: true, Poll: 5 * time.Millisecond, Lease: 10 * time.Second}
	ca, cb := cfg, cfg
	ca.Store, ca.Owner = s1, "a"
	cb.Store, cb.Owner = s2, "b"
	a, b := startWorker(t, ca), startWorker(t, cb)

	want := logEvents(t, s1, 40, "")
	a.Wake()
	b.Wake()
	runtest.WaitFor(t, "40 deliveries", func() bool { return rx.count() >= 40 })
	first, second := a, b
	if b.Stats().Endpoints == 1 {
		first, second = b, a
	}
	if err := first.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	more := logEvents(t, s2, 20, "")
	second.Wake()
	runtest.WaitFor(t, "60 deliveries", func() bool { return rx.count() >= 60 })
	runtest.WaitFor(t, "the cursor at the last event", func() bool {
		h, err := s2.GetWebhook(t.Context(), hook.ID)
		return err == nil && h.Cursor == more[len(more)-1].ID
	})
	got := rx.ids(t)
	if fmt.Sprint(got) != fmt.Sprint(ids(append(want, more...))) {
		t.Fatalf("received %v, want each of the 60 events once, in order", got)
	}
	rx.mu.Lock()
	overlap := rx.overlap
	rx.mu.Unlock()
	if overlap != 0 {
		t.Fatalf("%d requests overlapped another: two workers delivered at once", overlap)
	}
	if st := second.Stats(); st.Delivered < 20 {
		t.Fatalf("the second worker delivered %d after the first stopped, want at least 20", st.Delivered)
	}
}

// TestWorker_TakesOverAnExpiredLease: a worker that died holding an endpoint's lease (never
// released) blocks nobody for longer than the lease: another worker delivers once it expires,
// and not before.
func TestWorker_TakesOverAnExpiredLease(t *testing.T) {
	s := newStore(t)
	rx := newGoReceiver(t)
	hook := createWebhook(t, s, rx.url(), registry.EventFilter{})
	rx.setSecret(hook.Secret)
	const ttl = 300 * time.Millisecond
	expires := time.Now().Add(ttl) // the lease lasts at least until then
	if _, ok, err := s.LeaseWebhook(t.Context(), hook.ID, "dead", ttl); !ok || err != nil {
		t.Fatal(ok, err)
	}
	ev := logEvents(t, s, 1, "")[0]
	w := startWorker(t, webhook.Config{Store: s, Owner: "alive", LocalDev: true, Poll: 5 * time.Millisecond})
	w.Wake()
	runtest.WaitFor(t, "the delivery after the dead worker's lease expired", func() bool {
		h, err := s.GetWebhook(t.Context(), hook.ID)
		return err == nil && h.Cursor == ev.ID
	})
	page, err := s.WebhookAttempts(t.Context(), hook.ID, registry.Page{})
	if err != nil || len(page.Items) != 1 || page.Items[0].EventID != ev.ID {
		t.Fatalf("attempts %+v, %v", page.Items, err)
	}
	if at := page.Items[0].At; at.Before(expires.Add(-time.Millisecond)) { // the store keeps ms
		t.Fatalf("delivered at %v, before the dead worker's lease expired at %v", at, expires)
	}
}
