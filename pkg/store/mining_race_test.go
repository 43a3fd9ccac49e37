package store_test

import (
	"fmt"
	"testing"
	"time"

	"canistry/pkg/registry"
	"canistry/pkg/store"
	"canistry/pkg/store/storetest"
)

// TestSyncMining_ReadBeforeLock: a follower reads its batch before it takes the write lock;
// when another follower applied that batch meanwhile, it applies what is past the moved
// position instead (nothing, or the outcalls stored since), so every outcall counts once.
func TestSyncMining_ReadBeforeLock(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		for _, tc := range []struct {
			name  string
			later int // outcalls stored after the other follower's sync
		}{{"nothing new", 0}, {"more stored since", 7}} {
			t.Run(tc.name, func(t *testing.T) {
				s := openStore(t, b.DB(t))
				ctx := t.Context()
				t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
				claim := func(from, n int) {
					for i := from; i < from+n; i++ {
						if _, err := storetest.ClaimOutcall(ctx, s, storetest.Outcall{Key: fmt.Sprint(i), Miner: mMiners[0],
							At: t0.Add(time.Duration(i) * time.Second), Data: solutionData(mTokenA, i, "9", "1")}); err != nil {
							t.Fatal(err)
						}
					}
				}
				claim(0, 20)
				var other int
				got, err := s.SyncMiningRaced(ctx, func() {
					r, err := s.SyncMining(ctx)
					if err != nil {
						t.Fatal(err)
					}
					other = r.Solutions
					claim(20, tc.later)
				})
				if err != nil {
					t.Fatal(err)
				}
				if other != 20 || got.Solutions != tc.later {
					t.Fatalf("the other follower applied %d, the raced one %d; want 20 and %d", other, got.Solutions, tc.later)
				}
				sum, err := s.MiningSummary(ctx, store.MiningQuery{Token: mTokenA, From: t0, To: t0.Add(time.Hour)})
				if err != nil {
					t.Fatal(err)
				}
				page, err := s.Solutions(ctx, registry.SolutionFilter{Token: mTokenA, Page: registry.Page{Limit: 100}})
				if err != nil {
					t.Fatal(err)
				}
				if want := int64(20 + tc.later); sum.Solutions != want || int64(len(page.Items)) != want {
					t.Fatalf("%d counted, %d listed; want %d each", sum.Solutions, len(page.Items), want)
				}
			})
		}
	})
}
