package notify_test

import (
	"bytes"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"canistry/pkg/registry"
	"canistry/pkg/store/pgtest"
	"canistry/pkg/store/storetest"
)

// forEachBackend runs fn on SQLite and on PostgreSQL; db returns a fresh database each call
// ("" for SQLite: the shared test's own file).
func forEachBackend(t *testing.T, fn func(t *testing.T, db func(t *testing.T) string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, func(*testing.T) string { return "" }) })
	t.Run("postgres", func(t *testing.T) {
		pg := pgtest.New(t)
		fn(t, func(t *testing.T) string { return pg.Database(t) })
	})
}

// instances starts n notifier instances on sh (on target when set) with a short decide timeout.
func instances(t *testing.T, sh *shared, target string, n int, o opts) ([]*instance, []string) {
	t.Helper()
	if target != "" {
		sh.dbPath = target
	}
	if o.decide == 0 {
		o.decide = 200 * time.Millisecond
	}
	var ins []*instance
	var addrs []string
	for range n {
		in := newInstance(t, sh, o)
		ins, addrs = append(ins, in), append(addrs, in.addr)
	}
	return ins, addrs
}

// barrier sends a sentinel through every address (again while it is answered 503: a short
// decide timeout can refuse it under load) and returns the events published on the bus until
// it has seen them all. Each claim loop is first in, first out, so a sentinel committed after
// the lock was released was committed after anything that was still queued before it.
func barrier(t *testing.T, sh *shared, addrs []string, ts uint64) []registry.Event {
	t.Helper()
	deadline := time.Now().Add(patience)
	for i, addr := range addrs {
		for {
			r, err := send(addr, rawRequest(addr, jsonHeaders(), notification("sentinel", ts+uint64(i), `{}`)))
			if err == nil && bytes.HasPrefix(r, []byte("HTTP/1.1 200 ")) {
				break
			}
			if err != nil || !bytes.HasPrefix(r, []byte("HTTP/1.1 503 ")) || time.Now().After(deadline) {
				t.Fatalf("sentinel: %q %v", r, err)
			}
		}
	}
	var out []registry.Event
	for seen := 0; seen < len(addrs); {
		select {
		case e := <-sh.events:
			out = append(out, e)
			if isSentinel(e) {
				seen++
			}
		case <-time.After(time.Until(deadline)):
			t.Fatalf("%d of %d sentinels published", seen, len(addrs))
		}
	}
	return out
}

// TestIntake_AbandonedNeverCommitted is issue 21 §1: with the write lock held past the decide
// timeout, 13 copies of 3 notifications all get the one 503 "nothing was recorded", and after
// the lock is released none is stored and none is fanned out; a copy that arrives after that
// is a fresh decision (nothing was recorded) and commits normally.
func TestIntake_AbandonedNeverCommitted(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db func(*testing.T) string) {
		for _, n := range []int{1, 2} {
			t.Run(map[int]string{1: "OneNotifier", 2: "TwoNotifiers"}[n], func(t *testing.T) {
				abandonedNeverCommitted(t, db(t), n)
			})
		}
	})
}

func abandonedNeverCommitted(t *testing.T, target string, n int) {
	sh := newShared(t)
	ins, addrs := instances(t, sh, target, n, opts{})
	ts := uint64(1_700_000_000_000_000_000)
	release := storetest.HoldWriteLock(t, sh.dbPath)
	results := make([][][]byte, 3)
	var wg sync.WaitGroup
	for k := range results {
		wg.Go(func() {
			results[k] = stormNoFatal(addrs, func(addr string, _ int) []byte {
				return rawRequest(addr, jsonHeaders(), solution(ts+uint64(k)))
			}, 13)
		})
	}
	wg.Wait()
	for k, resps := range results {
		checkIdentical(t, resps, "503 Service Unavailable")
		if !bytes.Equal(resps[0], results[0][0]) || !bytes.Contains(resps[0], []byte("nothing was recorded")) {
			t.Errorf("notification %d: %q", k, resps[0])
		}
	}
	release()
	evs := barrier(t, sh, addrs, ts+100)
	if got := countEvents(evs, registry.EventSolutionFound); got != 0 {
		t.Errorf("%d solution_found events published after the 503s, want 0", got)
	}
	if got := rowCount(t, ins[0].store); got != int64(n) {
		t.Errorf("%d notifications stored, want only the %d sentinels", got, n)
	}
	// A copy after the 503s and the release is a fresh claim: it commits normally.
	last := addrs[len(addrs)-1]
	r, err := send(last, rawRequest(last, jsonHeaders(), solution(ts)))
	if err != nil || !bytes.HasPrefix(r, []byte("HTTP/1.1 200 ")) {
		t.Fatalf("copy after the release: %q %v", r, err)
	}
	if got := stored(t, ins[len(ins)-1], keyOf(ts, registry.EventSolutionFound)); got.Copies != 1 {
		t.Errorf("copies %d, want 1: the 503 copies were never counted", got.Copies)
	}
}

// TestIntake_AbandonRace releases the held write lock while single-copy notifications time out,
// queue and commit around it, so that waiters and the claim loop race for each request: a
// notification answered 503 is never stored nor fanned out, and one answered 200 always is.
func TestIntake_AbandonRace(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db func(*testing.T) string) {
		sh := newShared(t)
		ins, addrs := instances(t, sh, db(t), 1, opts{decide: 100 * time.Millisecond})
		ts := uint64(1_700_000_000_000_000_000)
		release := storetest.HoldWriteLock(t, sh.dbPath)
		const keys = 60
		resps := make([][]byte, keys)
		answered := make(chan struct{}, keys)
		var wg sync.WaitGroup
		for k := range keys {
			wg.Go(func() {
				<-time.After(time.Duration(rand.N(150_000)) * time.Microsecond) // spread the arrivals
				r, err := send(addrs[0], rawRequest(addrs[0], jsonHeaders(), solution(ts+uint64(k))))
				if err != nil {
					r = []byte(err.Error())
				}
				resps[k] = r
				answered <- struct{}{}
			})
		}
		for range keys / 4 {
			<-answered
		}
		release()
		wg.Wait()
		evs := barrier(t, sh, addrs, ts+1000)
		accepted, refused := 0, 0
		for k, r := range resps {
			key := keyOf(ts+uint64(k), registry.EventSolutionFound)
			_, err := ins[0].store.NotificationByKey(t.Context(), key)
			switch {
			case bytes.HasPrefix(r, []byte("HTTP/1.1 200 ")):
				accepted++
				if err != nil {
					t.Errorf("notification %d answered 200 is not stored: %v", k, err)
				}
			case bytes.HasPrefix(r, []byte("HTTP/1.1 503 ")):
				refused++
				if registry.ErrorCode(err) != registry.ENOTFOUND {
					t.Errorf("notification %d answered 503 was stored (err %v)", k, err)
				}
			default:
				t.Errorf("notification %d: %q", k, r)
			}
		}
		if got := countEvents(evs, registry.EventSolutionFound); got != accepted {
			t.Errorf("%d solution_found events for %d notifications answered 200", got, accepted)
		}
		t.Logf("%d answered 200 and stored, %d answered 503 and not stored", accepted, refused)
	})
}
