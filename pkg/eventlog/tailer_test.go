package eventlog_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aviate-labs/agent-go/principal"

	"canistry/pkg/eventlog"
	"canistry/pkg/internal/testclock"
	"canistry/pkg/lifecycle/runtest"
	"canistry/pkg/registry"
	"canistry/pkg/store"
)

// sink collects what the tailer delivers and checks it is strictly increasing.
type sink struct {
	mu  sync.Mutex
	ids []int64
	bad []string
}

func (s *sink) deliver(evs []registry.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range evs {
		if n := len(s.ids); n > 0 && e.ID <= s.ids[n-1] {
			s.bad = append(s.bad, fmt.Sprintf("%d after %d", e.ID, s.ids[n-1]))
		}
		s.ids = append(s.ids, e.ID)
	}
}

func (s *sink) got() ([]int64, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int64(nil), s.ids...), append([]string(nil), s.bad...)
}

func (s *sink) count() int { ids, _ := s.got(); return len(ids) }

func startTailer(t *testing.T, cfg eventlog.Config) *eventlog.Tailer {
	t.Helper()
	tl, err := eventlog.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tl.Close(context.Background()) })
	return tl
}

// visibleLog is a log whose rows become visible in an order the test chooses, as on a database
// with several writers whose sequence values commit out of order (or never).
type visibleLog struct {
	mu      sync.Mutex
	visible map[int64]bool
	failing atomic.Bool
}

func (l *visibleLog) commit(ids ...int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range ids {
		l.visible[id] = true
	}
}

func (l *visibleLog) read(_ context.Context, after int64, limit int) ([]registry.Event, error) {
	if l.failing.Load() {
		return nil, fmt.Errorf("database is unavailable")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []registry.Event
	for id := after + 1; id <= after+1000 && len(out) < limit; id++ {
		if l.visible[id] {
			out = append(out, registry.Event{ID: id, Event: "e"})
		}
	}
	return out, nil
}

// TestTailer_LateCommit: an id that commits after a higher one is waited for and delivered in
// order; one that never commits is given up only after the hold-back, and counted.
func TestTailer_LateCommit(t *testing.T) {
	tests := []struct {
		name    string
		fill    bool // id 3 commits while it is held back for
		want    []int64
		skipped int64
	}{
		{"FillsWithinHoldBack", true, []int64{1, 2, 3, 4, 5}, 0},
		{"NeverCommits", false, []int64{1, 2, 4, 5}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			log := &visibleLog{visible: map[int64]bool{}}
			clk := testclock.New(time.Unix(1_700_000_000, 0))
			out := &sink{}
			tl := startTailer(t, eventlog.Config{Read: log.read, Deliver: out.deliver, HoldBack: time.Minute,
				HoldRetry: time.Millisecond, Poll: time.Hour, Now: clk.Now})
			log.commit(1, 2, 4, 5) // 3 is still in flight
			tl.Wake()
			runtest.WaitFor(t, "ids 1 and 2 delivered", func() bool { return tl.Position() == 2 })
			// Held back: many re-reads, nothing past the hole.
			reads := tl.Stats().Reads
			runtest.WaitFor(t, "re-reads while holding back", func() bool { return tl.Stats().Reads > reads+5 })
			if tl.Position() != 2 {
				t.Fatalf("delivered past the hole: position %d", tl.Position())
			}
			if tc.fill {
				log.commit(3)
			} else {
				clk.Advance(time.Minute)
			}
			runtest.WaitFor(t, "caught up to 5", func() bool { return tl.Position() == 5 })
			ids, bad := out.got()
			if fmt.Sprint(ids) != fmt.Sprint(tc.want) || len(bad) > 0 {
				t.Errorf("delivered %v (out of order: %v), want %v", ids, bad, tc.want)
			}
			if got := tl.Stats().Skipped; got != tc.skipped {
				t.Errorf("skipped %d, want %d", got, tc.skipped)
			}
			// A late commit of a given-up id is never delivered after higher ones.
			log.commit(3, 6)
			tl.Wake()
			runtest.WaitFor(t, "6 delivered", func() bool { return tl.Position() == 6 })
			if ids, bad := out.got(); ids[len(ids)-1] != 6 || len(bad) > 0 {
				t.Errorf("after 6: %v (out of order: %v)", ids, bad)
			}
		})
	}
}

// TestTailer_PollWithoutDoorbell: with no Wake at all, the fallback poll delivers; a failing
// read is retried and loses nothing.
func TestTailer_PollWithoutDoorbell(t *testing.T) {
	log := &visibleLog{visible: map[int64]bool{}}
	out := &sink{}
	tl := startTailer(t, eventlog.Config{Read: log.read, Deliver: out.deliver, Poll: 5 * time.Millisecond})
	log.commit(1, 2)
	runtest.WaitFor(t, "polled 1 and 2", func() bool { return out.count() == 2 })
	log.failing.Store(true)
	log.commit(3)
	runtest.WaitFor(t, "failed reads counted", func() bool { return tl.Stats().Errors >= 2 })
	log.failing.Store(false)
	runtest.WaitFor(t, "3 after the database came back", func() bool { return out.count() == 3 })
	if ids, bad := out.got(); fmt.Sprint(ids) != "[1 2 3]" || len(bad) > 0 {
		t.Errorf("delivered %v (%v)", ids, bad)
	}
}

// TestTailer_StartsAfterFrom: the tailer delivers only what comes after its start position.
func TestTailer_StartsAfterFrom(t *testing.T) {
	log := &visibleLog{visible: map[int64]bool{}}
	log.commit(1, 2, 3)
	out := &sink{}
	tl := startTailer(t, eventlog.Config{Read: log.read, Deliver: out.deliver, From: 2, Poll: time.Hour})
	tl.Wake()
	runtest.WaitFor(t, "3 delivered", func() bool { return tl.Position() == 3 })
	if ids, _ := out.got(); fmt.Sprint(ids) != "[3]" {
		t.Errorf("delivered %v, want [3]", ids)
	}
}

// TestTailer_SQLiteConcurrentWriters tails a real SQLite log while two stores (two processes'
// worth of connections on one file) claim notifications and register canisters at once: every
// id arrives once, in order, with paging (Page 7) and a doorbell only some of the time.
func TestTailer_SQLiteConcurrentWriters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.db")
	var stores []*store.Store
	for range 2 {
		s, err := store.Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		stores = append(stores, s)
	}
	reader := stores[0]
	out := &sink{}
	tl := startTailer(t, eventlog.Config{Read: func(ctx context.Context, after int64, limit int) ([]registry.Event, error) {
		return reader.Events(ctx, after, 0, limit)
	}, Deliver: out.deliver, Page: 7, Poll: 10 * time.Millisecond})

	const perWriter = 150
	var wg sync.WaitGroup
	for w, s := range stores {
		wg.Go(func() {
			for i := range perWriter {
				if i%10 == 0 {
					ann := &store.Announcement{Name: registry.EventCanisterRegistered, At: time.Now(),
						Data: func(r registry.CanisterRecord) any { return map[string]any{"canister_id": r.ID} }}
					id := registry.CanisterID(testPrincipal(w*perWriter + i))
					if _, err := s.CreateCanister(context.Background(), registry.Canister{ID: id, Kind: registry.KindOther}, ann); err != nil {
						t.Error(err)
						return
					}
					continue
				}
				n := &registry.Notification{DedupKey: fmt.Sprintf("w%d-%d", w, i), MinerID: "m", Event: registry.EventSolutionFound,
					ICTimestamp: 1, BodyHash: "h", ReceivedAt: time.Now(), ResponseStatus: 200, ResponseBody: []byte("{}")}
				if _, err := s.ClaimNotification(context.Background(), n, time.Minute); err != nil {
					t.Error(err)
					return
				}
				if i%3 == 0 {
					tl.Wake()
				}
			}
		})
	}
	wg.Wait()
	runtest.WaitFor(t, "every event delivered", func() bool { return out.count() >= 2*perWriter })
	ids, bad := out.got()
	if len(ids) != 2*perWriter || len(bad) > 0 {
		t.Fatalf("delivered %d (want %d), out of order: %v", len(ids), 2*perWriter, bad)
	}
	for i, id := range ids {
		if id != int64(i+1) {
			t.Fatalf("position %d: id %d, want %d (gap or duplicate)", i, id, i+1)
		}
	}
}

// testPrincipal is a valid, distinct canister id for n (an opaque principal of 10 bytes).
func testPrincipal(n int) string {
	return principal.Principal{Raw: []byte{0, 0, 0, 0, 0, byte(n >> 8), byte(n), 1, 1, 1}}.Encode()
}
