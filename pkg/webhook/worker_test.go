package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"canistry/pkg/lifecycle/runtest"
	"canistry/pkg/registry"
	"canistry/pkg/store"
	"canistry/pkg/webhook"
)

func openStore(tb testing.TB, path string) *store.Store {
	tb.Helper()
	s, err := store.Open(tb.Context(), path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

func newStore(tb testing.TB) *store.Store {
	tb.Helper()
	return openStore(tb, filepath.Join(tb.TempDir(), "registry.db"))
}

func createWebhook(tb testing.TB, s *store.Store, url string, f registry.EventFilter) registry.Webhook {
	tb.Helper()
	secret, err := registry.NewWebhookSecret()
	if err != nil {
		tb.Fatal(err)
	}
	w, err := s.CreateWebhook(tb.Context(), registry.Webhook{URL: url, Secret: secret, Filter: f})
	if err != nil {
		tb.Fatal(err)
	}
	return w
}

func startWorker(tb testing.TB, cfg webhook.Config) *webhook.Worker {
	tb.Helper()
	w, err := webhook.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = w.Close(context.Background()) })
	return w
}

// logEvents appends n events: solution_found of the given miner, with their index as data.
func logEvents(tb testing.TB, s *store.Store, n int, miner string) []registry.Event {
	tb.Helper()
	out := make([]registry.Event, 0, n)
	for i := range n {
		e, err := s.AppendEvent(tb.Context(), registry.Event{Event: registry.EventSolutionFound, MinerID: miner,
			Data: json.RawMessage(fmt.Sprintf(`{"block_height":%d}`, i)), Timestamp: int64(1000 + i)})
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// checkInOrder checks that got, deduplicated by webhook-id, is exactly want in order, each body
// the event as /ws sends it.
func checkInOrder(t *testing.T, s *store.Store, hook registry.Webhook, got []delivery, want []registry.Event) {
	t.Helper()
	seen := map[string]bool{}
	var ids []int64
	for _, d := range got {
		if seen[d.ID] {
			continue
		}
		seen[d.ID] = true
		var e registry.Event
		if err := json.Unmarshal(d.Body, &e); err != nil {
			t.Fatalf("body %s: %v", d.Body, err)
		}
		if d.ID != webhook.MessageID(s.Epoch(), hook.ID, e.ID) {
			t.Errorf("webhook-id %q for event %d", d.ID, e.ID)
		}
		ids = append(ids, e.ID)
	}
	if len(ids) != len(want) {
		t.Fatalf("received %d distinct events %v, want %d", len(ids), ids, len(want))
	}
	for i, e := range want {
		if ids[i] != e.ID {
			t.Fatalf("event %d received as #%d is id %d: out of order (%v)", e.ID, i, ids[i], ids)
		}
	}
	wantBody, _ := json.Marshal(want[0])
	var a, b any
	_ = json.Unmarshal(wantBody, &a)
	for _, d := range got {
		var e registry.Event
		_ = json.Unmarshal(d.Body, &e)
		if e.ID == want[0].ID {
			_ = json.Unmarshal(d.Body, &b)
		}
	}
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("body %v, want the event as /ws sends it: %v", b, a)
	}
}

// TestWorker_Outage kills the receiver (a node process verifying every signature with the
// standardwebhooks reference implementation) while events are logged, keeps it down until the
// worker has retried several times, starts it again, and checks that every event arrives, in
// order, once after deduplication by webhook-id.
func TestWorker_Outage(t *testing.T) {
	s := newStore(t)
	port := runtest.FreePort(t, false)
	hook := createWebhook(t, s, "http://127.0.0.1:"+strconv.Itoa(port)+"/hook", registry.EventFilter{})
	recv := startReceiver(t, port, hook.Secret)
	w := startWorker(t, webhook.Config{Store: s, Owner: "test", LocalDev: true, RetryBase: 10 * time.Millisecond,
		Retries: 30, Poll: 20 * time.Millisecond})

	first := logEvents(t, s, 5, "")
	w.Wake()
	runtest.WaitFor(t, "the first 5 events delivered", func() bool {
		h, err := s.GetWebhook(t.Context(), hook.ID)
		return err == nil && h.Cursor == first[4].ID
	})

	recv.kill()
	rest := logEvents(t, s, 10, "")
	w.Wake()
	const outage = 6 // failed attempts before the receiver comes back
	runtest.WaitFor(t, "retries during the outage", func() bool {
		h, err := s.GetWebhook(t.Context(), hook.ID)
		return err == nil && h.Attempts >= outage
	})
	recv.start()
	runtest.WaitFor(t, "all 15 events after the outage", func() bool { return recv.distinct() == 15 })

	got, bad := recv.deliveries()
	if len(bad) != 0 {
		t.Fatalf("the reference implementation refused %d requests: %v", len(bad), bad)
	}
	checkInOrder(t, s, hook, got, append(first, rest...))
	runtest.WaitFor(t, "the cursor at the last event", func() bool {
		h, err := s.GetWebhook(t.Context(), hook.ID)
		return err == nil && h.Cursor == rest[9].ID
	})
	h, err := s.GetWebhook(t.Context(), hook.ID)
	if err != nil || h.State != registry.WebhookActive || h.Attempts != 0 || h.Delivered != 15 {
		t.Fatalf("endpoint after the outage: %+v, %v", h, err)
	}
	page, err := s.WebhookAttempts(t.Context(), hook.ID, registry.Page{Limit: registry.MaxPageLimit})
	if err != nil {
		t.Fatal(err)
	}
	failed := 0
	for _, a := range page.Items {
		if !a.OK() {
			failed++
			if a.EventID != rest[0].ID || a.Error == "" || a.Status != 0 {
				t.Errorf("failed attempt %+v: want event %d, a connection error and no status", a, rest[0].ID)
			}
		}
	}
	if failed < outage {
		t.Errorf("%d failed attempts logged, want at least %d", failed, outage)
	}
}

// TestWorker_Failing points an endpoint at a port nobody listens on: after the retry budget it
// is failing (and counted), nothing more is tried; enabled again with a receiver up, the
// event it failed on arrives.
func TestWorker_Failing(t *testing.T) {
	s := newStore(t)
	port := runtest.FreePort(t, false)
	hook := createWebhook(t, s, "http://127.0.0.1:"+strconv.Itoa(port)+"/", registry.EventFilter{})
	w := startWorker(t, webhook.Config{Store: s, Owner: "test", LocalDev: true, RetryBase: time.Millisecond,
		Retries: 3, Poll: 10 * time.Millisecond})
	evs := logEvents(t, s, 2, "")
	w.Wake()
	runtest.WaitFor(t, "the endpoint to turn failing", func() bool {
		h, err := s.GetWebhook(t.Context(), hook.ID)
		return err == nil && h.State == registry.WebhookFailing
	})
	h, _ := s.GetWebhook(t.Context(), hook.ID)
	if h.Attempts != 4 || h.LastError == "" || h.FailingSince == nil || h.Cursor != hook.Cursor {
		t.Fatalf("failing endpoint %+v: want 4 attempts (1 + 3 retries), an error, the cursor unmoved", h)
	}
	if st := w.Stats(); st.Failing != 1 || st.Failed != 4 || st.Delivered != 0 {
		t.Fatalf("stats %+v", st)
	}
	page, _ := s.WebhookAttempts(t.Context(), hook.ID, registry.Page{})
	if len(page.Items) != 4 {
		t.Fatalf("%d attempts logged, want 4", len(page.Items))
	}

	recv := startReceiver(t, port, hook.Secret)
	if _, err := s.EnableWebhook(t.Context(), hook.ID); err != nil {
		t.Fatal(err)
	}
	w.Wake()
	runtest.WaitFor(t, "both events after enable", func() bool { return recv.distinct() == 2 })
	got, _ := recv.deliveries()
	checkInOrder(t, s, hook, got, evs)
}

// TestWorker_Filter delivers only what the filter passes, and the cursor still moves past the
// rest.
func TestWorker_Filter(t *testing.T) {
	s := newStore(t)
	const miner = "ryjl3-tyaaa-aaaaa-aaaba-cai"
	rx := newGoReceiver(t)
	hook := createWebhook(t, s, rx.url(), registry.EventFilter{Miner: miner})
	w := startWorker(t, webhook.Config{Store: s, Owner: "test", LocalDev: true, Poll: 10 * time.Millisecond})
	var want []registry.Event
	for i := range 6 {
		m := "rrkah-fqaaa-aaaaa-aaaaq-cai"
		if i%2 == 0 {
			m = miner
		}
		e := logEvents(t, s, 1, m)[0]
		if m == miner {
			want = append(want, e)
		}
	}
	last := logEvents(t, s, 1, "")[0] // skipped too
	w.Wake()
	runtest.WaitFor(t, "the cursor past the last event", func() bool {
		h, err := s.GetWebhook(t.Context(), hook.ID)
		return err == nil && h.Cursor == last.ID
	})
	got := rx.ids(t)
	if fmt.Sprint(got) != fmt.Sprint(ids(want)) {
		t.Fatalf("delivered %v, want %v", got, ids(want))
	}
}

func ids(evs []registry.Event) []int64 {
	out := make([]int64, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}
