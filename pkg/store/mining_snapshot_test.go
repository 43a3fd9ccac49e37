package store_test

import (
	"fmt"
	"testing"
	"time"

	"canistry/pkg/store"
	"canistry/pkg/store/storetest"
)

// TestMiningSummary_OneSnapshot: a follower's commit that lands while a summary is being read
// (between its totals and its leaderboard) does not show in that summary, which stays
// consistent (the leaderboard's solutions add up to the total); the next summary counts it.
// Read statement by statement, the summary mixed both: a total of 1 with two miners, and a
// share of 1/0 once made the api answer a 200 with an empty body.
func TestMiningSummary_OneSnapshot(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := t.Context()
		s := openStore(t, b.DB(t))
		t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		claim := func(i int) {
			t.Helper()
			if _, err := storetest.ClaimOutcall(ctx, s, storetest.Outcall{Key: fmt.Sprint(i), Miner: mMiners[i],
				At: t0.Add(time.Duration(i) * time.Minute), Data: solutionData(mTokenA, i, "9", "1")}); err != nil {
				t.Fatal(err)
			}
		}
		claim(0)
		if err := storetest.SyncMining(ctx, s); err != nil {
			t.Fatal(err)
		}
		claim(1)
		synced := false
		store.AfterMiningTotals(t, func() {
			if !synced {
				synced = true
				if r, err := s.SyncMining(ctx); err != nil || r.Solutions != 1 {
					t.Errorf("the follower's commit during the summary: %+v, %v", r, err)
				}
			}
		})
		q := store.MiningQuery{Token: mTokenA, From: t0, To: t0.Add(time.Hour)}
		for _, want := range []int64{1, 2} {
			sum, err := s.MiningSummary(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			var board int64
			for _, m := range sum.Miners {
				board += m.Solutions
			}
			if sum.Solutions != want || board != want || sum.MinerCount != want {
				t.Fatalf("summary: %d solutions, %d on the leaderboard of %d miners; want %d each", sum.Solutions, board, sum.MinerCount, want)
			}
		}
	})
}
