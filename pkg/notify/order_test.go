package notify_test

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"canistry/pkg/notify"
)

// TestIntake_PublishOrder: distinct notifications sent concurrently (so that the claim loop
// commits them in batches, and writes a batch while the previous one's events are published)
// are each published once on the bus, in strictly increasing event id order.
func TestIntake_PublishOrder(t *testing.T) {
	sh := newShared(t)
	inst := newInstance(t, sh, opts{limits: notify.Unlimited()})
	const n, senders = 300, 16
	ts := uint64(1_700_000_000_000_000_000)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for s := range senders {
		wg.Go(func() {
			for i := s; i < n; i += senders {
				r, err := send(inst.addr, rawRequest(inst.addr, jsonHeaders(), solution(ts+uint64(i))))
				if err == nil && !bytes.HasPrefix(r, []byte("HTTP/1.1 200 ")) {
					err = fmt.Errorf("answered %q", r)
				}
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("send: %v", err)
	}
	seen := map[int64]bool{}
	var last int64
	deadline := time.After(patience)
	for len(seen) < n {
		select {
		case e := <-sh.events:
			if e.ID <= last {
				t.Fatalf("event %d published after event %d: not in id order", e.ID, last)
			}
			if seen[e.NotificationID] {
				t.Fatalf("notification %d published twice", e.NotificationID)
			}
			last, seen[e.NotificationID] = e.ID, true
		case <-deadline:
			t.Fatalf("%d of %d events published", len(seen), n)
		}
	}
	select {
	case e := <-sh.events:
		t.Fatalf("an extra event was published: %+v", e)
	case <-time.After(100 * time.Millisecond):
	}
	if got := rowCount(t, inst.store); got != n {
		t.Fatalf("%d notifications stored, want %d", got, n)
	}
}
