package store_test

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"canistry/pkg/registry"
	"canistry/pkg/store"
	"canistry/pkg/store/storetest"
)

const (
	mTokenA = "ryjl3-tyaaa-aaaaa-aaaba-cai"
	mTokenB = "rrkah-fqaaa-aaaaa-aaaaq-cai"
)

var mMiners = []string{"mxzaz-hqaaa-aaaar-qaada-cai", "zfcdd-tqaaa-aaaaq-aaaga-cai", "qaa6y-5yaaa-aaaaa-aaafa-cai"}

func solutionData(token string, height any, diff, reward string) map[string]any {
	return map[string]any{"token_id": token, "ticker": "T", "block_height": height, "nonce": 7, "hash": "00ab",
		"difficulty": diff, "reward": reward, "decimals": 8}
}

// TestMining_Rules: copies and refused outcalls never count, a repeated height counts once
// (the first received) and is listed as a repeat, decimals above 2^64 keep their digits and
// compare numerically, malformed outcalls are skipped, and a second sync adds nothing.
func TestMining_Rules(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := openStore(t, b.DB(t))
		ctx := t.Context()
		t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
		big1 := "36893488147419103232" // 2^65
		big2 := "9" + big1             // larger, longer
		claim := func(o storetest.Outcall) store.NotificationClaim {
			c, err := storetest.ClaimOutcall(ctx, s, o)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		first := claim(storetest.Outcall{Key: "a", Miner: mMiners[0], At: t0, Data: solutionData(mTokenA, 10, big1, "500")})
		for i := range 12 { // replica copies of the same outcall
			claim(storetest.Outcall{Key: "a", Miner: mMiners[0], At: t0.Add(time.Duration(i) * time.Millisecond), Data: solutionData(mTokenA, 10, big1, "500")})
		}
		if _, err := s.RefuseNotification(ctx, "r", "h", "192.0.2.1", store.Refusal{Status: 429, Body: []byte("{}")}, t0, time.Minute); err != nil {
			t.Fatal(err)
		}
		claim(storetest.Outcall{Key: "r", Miner: mMiners[1], At: t0.Add(time.Second), Data: solutionData(mTokenA, 11, "1", "1")}) // refused
		repeat := claim(storetest.Outcall{Key: "b", Miner: mMiners[1], At: t0.Add(2 * time.Second), Data: solutionData(mTokenA, "10", "5", "5")})
		claim(storetest.Outcall{Key: "c", Miner: mMiners[1], At: t0.Add(90 * time.Second), Data: solutionData(mTokenA, "0012", big2, "18446744073709551617")})
		skipped := claim(storetest.Outcall{Key: "d", Miner: mMiners[1], At: t0.Add(3 * time.Second), Data: map[string]any{"token_id": mTokenA, "block_height": 1.5}})
		claim(storetest.Outcall{Key: "e", Miner: mMiners[2], Event: "mining_started", At: t0, Data: map[string]any{"token_id": mTokenA}})
		if err := storetest.SyncMining(ctx, s); err != nil {
			t.Fatal(err)
		}
		again, err := s.SyncMining(ctx)
		if err != nil || again != (store.MiningSync{Position: again.Position}) || again.Position != skipped.Notification.ID {
			t.Fatalf("second sync: %+v, %v; want nothing", again, err)
		}
		list, err := s.Solutions(ctx, registry.SolutionFilter{Token: mTokenA, Page: registry.Page{Limit: 10, Desc: true, WithTotal: true}})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Items) != 3 || *list.Total != 3 {
			t.Fatalf("solutions: %d (total %d), want 3", len(list.Items), *list.Total)
		}
		if got := list.Items[1]; got.NotificationID != repeat.Notification.ID || got.RepeatOf != first.Notification.ID || got.BlockHeight != "10" {
			t.Errorf("repeat: %+v, want a repeat of %d", got, first.Notification.ID)
		}
		if got := list.Items[0]; got.BlockHeight != "12" || got.Difficulty != big2 || got.Reward != "18446744073709551617" {
			t.Errorf("newest: %+v", got)
		}
		sum, err := s.MiningSummary(ctx, store.MiningQuery{Token: mTokenA, From: t0.Add(-time.Hour), To: t0.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Solutions != 2 || sum.DifficultyMin != big1 || sum.DifficultyMax != big2 || sum.DifficultyFirst != big1 ||
			sum.DifficultyLast != big2 || sum.RewardFirst != "500" || sum.RewardLast != "18446744073709551617" {
			t.Errorf("summary: %+v", sum)
		}
		if sum.AverageBlockTimeSeconds == nil || *sum.AverageBlockTimeSeconds != 90 {
			t.Errorf("average block time: %v, want 90", sum.AverageBlockTimeSeconds)
		}
		if len(sum.Miners) != 2 || sum.Miners[0].Solutions != 1 || sum.Miners[0].MinerID != mMiners[0] {
			t.Errorf("leaderboard (tie: earliest last solution first): %+v", sum.Miners)
		}
	})
}

// mSol is one claimed solution_found outcall of the brute-force model.
type mSol struct {
	token, miner, height, diff string
	at                         int64
}

// TestMining_BruteForce compares the summary and the series, over random ranges, with a
// recount of the outcalls as claimed, on random data synced in random steps.
func TestMining_BruteForce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := openStore(t, b.DB(t))
		ctx := t.Context()
		rng := rand.New(rand.NewPCG(27, uint64(len(b.name))))
		t0 := time.Date(2026, 2, 3, 4, 5, 6, 789_000_000, time.UTC).UnixMilli()
		var model []mSol
		at := t0
		for i := range 1500 {
			at += rng.Int64N(12 * 60_000) // about six days: whole days, hours and minutes in most ranges
			sol := mSol{token: []string{mTokenA, mTokenB}[rng.IntN(2)], miner: mMiners[rng.IntN(3)],
				height: fmt.Sprint(rng.IntN(1200)), diff: new(big.Int).Lsh(big.NewInt(rng.Int64N(1000)+1), uint(rng.IntN(100))).String(), at: at}
			c, err := storetest.ClaimOutcall(ctx, s, storetest.Outcall{Key: fmt.Sprint(i), Miner: sol.miner, At: time.UnixMilli(at),
				Data: solutionData(sol.token, sol.height, sol.diff, "1")})
			if err != nil || !c.Claimed {
				t.Fatal(c, err)
			}
			model = append(model, sol)
			if rng.IntN(100) == 0 {
				if _, err := s.SyncMining(ctx); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := storetest.SyncMining(ctx, s); err != nil {
			t.Fatal(err)
		}
		counted := countedOnly(model)
		end := at
		for range 40 {
			from := t0 - 60_000 + rng.Int64N(end-t0+120_000)
			to := from + rng.Int64N(end-from+60_000)
			tok := []string{mTokenA, mTokenB}[rng.IntN(2)]
			checkSummary(t, s, tok, from, to, counted)
			checkSeries(t, s, tok, from, counted, rng)
		}
	})
}

// countedOnly keeps the first solution of each (token, height).
func countedOnly(all []mSol) []mSol {
	seen := map[[2]string]bool{}
	var out []mSol
	for _, s := range all {
		if k := [2]string{s.token, s.height}; !seen[k] {
			seen[k] = true
			out = append(out, s)
		}
	}
	return out
}

func natLess(a, b string) bool { return len(a) < len(b) || len(a) == len(b) && a < b }

func checkSummary(t *testing.T, s *store.Store, tok string, from, to int64, counted []mSol) {
	t.Helper()
	got, err := s.MiningSummary(t.Context(), store.MiningQuery{Token: tok, From: time.UnixMilli(from), To: time.UnixMilli(to), Leaders: 10})
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	var dmin, dmax, first, last string
	per := map[string]int64{}
	lastAt := map[string]int64{}
	for _, c := range counted {
		if c.token != tok || c.at < from || c.at > to {
			continue
		}
		if n++; n == 1 {
			first = c.diff
		}
		last = c.diff
		per[c.miner]++
		lastAt[c.miner] = c.at
		if dmin == "" || natLess(c.diff, dmin) {
			dmin = c.diff
		}
		if natLess(dmax, c.diff) {
			dmax = c.diff
		}
	}
	if got.Solutions != n || got.DifficultyMin != dmin || got.DifficultyMax != dmax || got.DifficultyFirst != first || got.DifficultyLast != last {
		t.Fatalf("[%d, %d] %s: got %d %s..%s first %s last %s; want %d %s..%s first %s last %s", from, to, tok,
			got.Solutions, got.DifficultyMin, got.DifficultyMax, got.DifficultyFirst, got.DifficultyLast, n, dmin, dmax, first, last)
	}
	if int(got.MinerCount) != len(per) {
		t.Fatalf("[%d, %d] miners: got %d, want %d", from, to, got.MinerCount, len(per))
	}
	for _, m := range got.Miners {
		if m.Solutions != per[m.MinerID] || m.LastSolutionAt.UnixMilli() != lastAt[m.MinerID] {
			t.Fatalf("[%d, %d] miner %s: got %d last %d, want %d last %d", from, to, m.MinerID, m.Solutions,
				m.LastSolutionAt.UnixMilli(), per[m.MinerID], lastAt[m.MinerID])
		}
	}
	if !slices.IsSortedFunc(got.Miners, func(a, b registry.MinerShare) int { return int(b.Solutions - a.Solutions) }) {
		t.Fatalf("leaderboard not by solutions: %+v", got.Miners)
	}
}

func checkSeries(t *testing.T, s *store.Store, tok string, from int64, counted []mSol, rng *rand.Rand) {
	t.Helper()
	step := time.Duration(1+rng.IntN(180)) * time.Minute
	if rng.IntN(2) == 0 { // whole hours: read from the token hours
		step = time.Duration(1+rng.IntN(24)) * time.Hour
	}
	st := step.Milliseconds()
	start := from - ((from%st)+st)%st
	n := 1 + rng.IntN(60)
	got, err := s.MiningSeries(t.Context(), tok, time.UnixMilli(start), step, n)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]int64, n)
	wmax := make([]string, n)
	first, last := make([]int64, n), make([]int64, n)
	for _, c := range counted {
		if i := (c.at - start) / st; c.token == tok && c.at >= start && i < int64(n) {
			if want[i]++; want[i] == 1 {
				first[i] = c.at
			}
			last[i] = c.at
			if natLess(wmax[i], c.diff) {
				wmax[i] = c.diff
			}
		}
	}
	for i, bk := range got {
		if bk.Solutions != want[i] || bk.DifficultyMax != wmax[i] {
			t.Fatalf("series step %s bucket %d: got %d max %s, want %d max %s", step, i, bk.Solutions, bk.DifficultyMax, want[i], wmax[i])
		}
		var wantBlock *float64
		if want[i] >= 2 {
			v := float64(last[i]-first[i]) / 1000 / float64(want[i]-1)
			wantBlock = &v
		}
		if (bk.AverageBlockTimeSeconds == nil) != (wantBlock == nil) || wantBlock != nil && *bk.AverageBlockTimeSeconds != *wantBlock {
			t.Fatalf("series step %s bucket %d: block time %v, want %v", step, i, bk.AverageBlockTimeSeconds, wantBlock)
		}
	}
}

// TestMining_SeriesHashRate: an hour's network hash rate is the sum over miners of the mean
// each reported in it while mining the token; a bucket's is the mean of the hours starting
// inside it that have one (not the sum of each miner's mean over the whole bucket: 10:00–12:00
// is (350 + 300) / 2, where that would be 300 + 50); a bucket shorter than an hour shows the
// hour it lies in; a refresh while not mining counts for no token.
func TestMining_SeriesHashRate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := openStore(t, b.DB(t))
		ctx := t.Context()
		at := func(hhmm string) time.Time {
			v, err := time.Parse("2006-01-02 15:04", "2026-03-01 "+hhmm)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		for _, id := range mMiners[:3] {
			mustCreate(t, s, registry.Canister{ID: registry.CanisterID(id), Kind: registry.KindMiner})
		}
		mine := func(miner, token string, mining bool) {
			if _, err := storetest.SaveMiner(ctx, s, registry.MinerInfo{CanisterID: registry.CanisterID(miner), CurrentToken: token, IsMining: mining, UpdatedAt: at("09:00")}); err != nil {
				t.Fatal(err)
			}
		}
		stat := func(miner, hhmm string, rate float64) {
			if err := storetest.AddMinerStats(ctx, s, registry.MinerStats{CanisterID: registry.CanisterID(miner), ObservedAt: at(hhmm), HashRate: rate}); err != nil {
				t.Fatal(err)
			}
			if err := storetest.SyncMining(ctx, s); err != nil { // attributed to the token mined now
				t.Fatal(err)
			}
		}
		mine(mMiners[0], mTokenA, true)
		mine(mMiners[1], mTokenA, true)
		mine(mMiners[2], mTokenA, false)
		stat(mMiners[0], "10:10", 100)
		stat(mMiners[0], "10:40", 200)
		stat(mMiners[0], "10:50", 600)
		stat(mMiners[1], "10:30", 50)
		stat(mMiners[2], "10:30", 1e9) // not mining
		stat(mMiners[0], "11:20", 300)
		mine(mMiners[1], mTokenB, true)
		stat(mMiners[1], "11:30", 7) // now mining token B
		for _, c := range []struct {
			step time.Duration
			n    int
			want string
		}{
			{30 * time.Minute, 5, "350 350 300 300 -"},
			{time.Hour, 2, "350 300"},
			{2 * time.Hour, 1, "325"},
			{3 * time.Hour, 1, "325"}, // 12:00 has no report: not a zero
		} {
			got, err := s.MiningSeries(ctx, mTokenA, at("10:00"), c.step, c.n)
			if err != nil {
				t.Fatal(err)
			}
			var parts []string
			for _, bk := range got {
				if bk.NetworkHashRate == nil {
					parts = append(parts, "-")
				} else {
					parts = append(parts, fmt.Sprint(*bk.NetworkHashRate))
				}
			}
			if g := strings.Join(parts, " "); g != c.want {
				t.Errorf("step %s: %s, want %s", c.step, g, c.want)
			}
		}
	})
}
