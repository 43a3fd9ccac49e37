package store_test

import (
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"canistry/pkg/registry"
	"canistry/pkg/store"
)

// TestStore_ClaimBatch_EqualsOneByOne: a batch written by the multi-row statements (claimBatch),
// or pipelined on PostgreSQL when its keys are new, has exactly the outcomes, rows, forensics
// and event ids of the same notifications claimed one at a time on the general path, on a database holding a live claim, an expired claim and a live refusal; and the
// events' ids ascend in batch order.
func TestStore_ClaimBatch_EqualsOneByOne(t *testing.T) {
	t0 := time.UnixMilli(1_700_000_000_000)
	at := t0.Add(90 * time.Second)
	cases := []struct {
		name string
		keys []string // "live": claimed and live; "old": claimed, expired; "ref": refused
		want string   // per key: C claimed, D a copy of a claimed key, R refused
	}{
		{"all new", []string{"a", "b", "c"}, "CCC"},
		{"one", []string{"a"}, "C"},
		{"mixed", []string{"a", "live", "old", "ref", "a", "b", "old", "c", "live"}, "CDCRDCDCD"},
		{"only copies and refusals", []string{"live", "ref", "live"}, "DRD"},
	}
	forEachBackend(t, func(t *testing.T, b backend) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				// One by one on the general path: on PostgreSQL the batch of new keys is
				// pipelined (claimpipe.go), and must write what the general path writes.
				batched, single := seededStore(t, b, t0), seededStore(t, b, t0, store.WithoutPipeline())
				ns := func() []*registry.Notification {
					var out []*registry.Notification
					for i, k := range tc.keys {
						n := newNotification(k, []string{"h", "x"}[i%2], at.Add(time.Duration(i)*time.Millisecond))
						n.Source = "192.0.2.7"
						out = append(out, n)
					}
					return out
				}
				got, err := batched.ClaimNotifications(t.Context(), ns(), time.Minute)
				if err != nil {
					t.Fatal(err)
				}
				var lastEvent int64
				for i, n := range ns() {
					want, err := single.ClaimNotification(t.Context(), n, time.Minute)
					if err != nil {
						t.Fatal(err)
					}
					g := got[i]
					if kind := map[bool]string{true: "C"}[g.Claimed] + map[bool]string{true: "R"}[g.Refused]; kind == "" && tc.want[i] != 'D' ||
						kind != "" && kind[0] != tc.want[i] {
						t.Errorf("%d (%s): claimed %v refused %v, want %c", i, n.DedupKey, g.Claimed, g.Refused, tc.want[i])
					}
					if g.Claimed && !slices.Contains(tc.keys[i+1:], n.DedupKey) { // no later copy changed it
						stored, err := batched.Notification(t.Context(), g.Notification.ID)
						if err != nil || !reflect.DeepEqual(stored, g.Notification) {
							t.Errorf("%d: returned %+v, stored %+v (%v)", i, g.Notification, stored, err)
						}
					}
					g.Event.Cursor, want.Event.Cursor = "", "" // each database has its own epoch
					if !reflect.DeepEqual(g, want) {
						t.Errorf("%d (%s): batch %+v\none by one %+v", i, n.DedupKey, g, want)
					}
					if g.Claimed {
						if g.Event.ID <= lastEvent {
							t.Errorf("%d: event id %d after %d", i, g.Event.ID, lastEvent)
						}
						lastEvent = g.Event.ID
					}
				}
				for id := int64(1); id <= 8; id++ {
					fb, errB := batched.NotificationForensics(t.Context(), id)
					fs, errS := single.NotificationForensics(t.Context(), id)
					if errB != nil || errS != nil || !reflect.DeepEqual(fb, fs) {
						t.Errorf("forensics of %d: batch %+v (%v), one by one %+v (%v)", id, fb, errB, fs, errS)
					}
				}
			})
		}
	})
}

// seededStore is a new store holding a live claim of "live", an expired claim of "old" (at
// t0+90s, window 1m) and a live refusal of "ref".
func seededStore(t *testing.T, b backend, t0 time.Time, opts ...store.Option) *store.Store {
	t.Helper()
	s := openStore(t, b.DB(t), opts...)
	if _, err := s.ClaimNotification(t.Context(), newNotification("old", "h", t0), time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimNotification(t.Context(), newNotification("live", "h", t0.Add(80*time.Second)), time.Minute); err != nil {
		t.Fatal(err)
	}
	ref := store.Refusal{Status: 429, Body: []byte(`{"error":"slow down"}`)}
	if _, err := s.RefuseNotification(t.Context(), "ref", "h", "", ref, t0.Add(60*time.Second), time.Minute); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestStore_ClaimBatch_Concurrent: batches of every size claimed at once from several
// goroutines on one store (so statements are prepared while other transactions use them) and
// on a second store of the same database: every key is claimed exactly once, and nothing
// deadlocks (the statement cache must not wait for the writer connection while holding its lock).
func TestStore_ClaimBatch_Concurrent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		db := b.DB(t)
		stores := []*store.Store{openStore(t, db), openStore(t, db)}
		now := time.UnixMilli(1_700_000_000_000)
		const workers, rounds = 6, 12
		claimed := make([][]string, workers)
		errs := make(chan error, workers)
		done := make(chan struct{})
		go func() {
			defer close(done)
			var wg sync.WaitGroup
			for w := range workers {
				wg.Go(func() {
					for r := range rounds {
						var ns []*registry.Notification
						for i := range 1 + (w*rounds+r)%9 { // sizes 1..9; keys shared between workers
							ns = append(ns, newNotification(fmt.Sprintf("k%d-%d", r, i), "h", now))
						}
						out, err := stores[w%2].ClaimNotifications(t.Context(), ns, time.Hour)
						if err != nil {
							errs <- err
							return
						}
						for i, c := range out {
							if c.Claimed {
								claimed[w] = append(claimed[w], ns[i].DedupKey)
							}
						}
					}
				})
			}
			wg.Wait()
		}()
		select {
		case <-done:
		case <-time.After(3 * time.Minute):
			t.Fatal("claims did not finish: deadlock")
		}
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		seen := map[string]int{}
		for _, keys := range claimed {
			for _, k := range keys {
				seen[k]++
			}
		}
		for k, n := range seen {
			if n != 1 {
				t.Errorf("%s claimed %d times", k, n)
			}
		}
		want := 0
		for r := range rounds {
			most := 0
			for w := range workers {
				most = max(most, 1+(w*rounds+r)%9)
			}
			want += most
		}
		if len(seen) != want {
			t.Errorf("%d keys claimed, want %d", len(seen), want)
		}
	})
}
