package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"

	"canistry/pkg/registry"
)

// Reads of the mining analytics (migrations 0011 and 0015, kept by SyncMining). A range
// [from, to] is covered by the coarsest aggregate rows wholly inside it, then finer ones for
// what is left at each end, down to the solutions themselves for the partial minute or hour at
// each end (cover): any millisecond range is exact, and a 30-day range reads about 720 token
// hours for the totals and 30 days per miner for the leaderboard, plus at most two hours of
// minutes and of solutions.

const solutionColumns = "notification_id, token_id, block_height, miner_id, difficulty, reward, hash, nonce, received_at, repeat_of"

func scanSolution(sc scanner) (registry.Solution, error) {
	var r solutionRow
	err := sc.Scan(&r.NotificationID, &r.TokenID, &r.BlockHeight, &r.MinerID, &r.Difficulty, &r.Reward, &r.Hash, &r.Nonce,
		&r.ReceivedAt, &r.RepeatOf)
	out := registry.Solution{NotificationID: r.NotificationID, TokenID: r.TokenID, BlockHeight: r.BlockHeight, MinerID: r.MinerID,
		Difficulty: r.Difficulty, Reward: r.Reward, Hash: r.Hash, Nonce: r.Nonce, ReceivedAt: fromMs(r.ReceivedAt)}
	if r.RepeatOf != nil {
		out.RepeatOf = *r.RepeatOf
	}
	return out, err
}

// Solutions returns one page of a token's solutions (repeats included and marked), by
// notification id: newest first when f.Page.Desc.
func (s *Store) Solutions(ctx context.Context, f registry.SolutionFilter) (registry.List[registry.Solution], error) {
	w := s.where()
	w.add("token_id = ?", f.Token)
	if f.Miner != "" {
		w.add("miner_id = ?", f.Miner)
	}
	if !f.From.IsZero() {
		w.add("received_at >= ?", ms(f.From))
	}
	if !f.To.IsZero() {
		w.add("received_at <= ?", ms(f.To))
	}
	return listPage(ctx, s, listing[registry.Solution]{what: "solutions", count: "solutions",
		query: "SELECT " + solutionColumns + " FROM solutions", keys: []string{"notification_id"},
		scan: keyed(scanSolution, func(v *registry.Solution) int64 { return v.NotificationID })}, w, f.Page)
}

// MiningKnown reports whether token is a registered canister or named by a stored solution.
func (s *Store) MiningKnown(ctx context.Context, token string) (bool, error) {
	var n int64
	err := s.readOne(ctx, `SELECT (SELECT count(*) FROM canisters WHERE canister_id = ?)
		+ (SELECT count(*) FROM (SELECT 1 FROM solutions WHERE token_id = ? LIMIT 1) x)`, token, token).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("mining of %s: %w", token, translate(err))
	}
	return n > 0, nil
}

// MiningQuery asks for a token's mining summary.
type MiningQuery struct {
	Token    string
	From, To time.Time // both inclusive
	// FreshAfter: a miner's hash rate counts when it was observed at or after it.
	FreshAfter time.Time
	// Leaders caps the leaderboard (0: 100).
	Leaders int
}

// afterMiningTotals, when set (tests), runs in MiningSummary between its first read and the
// others: a commit there must not show in the summary.
var afterMiningTotals func()

// MiningSummary answers GET /tokens/{id}/mining, from one snapshot of the database.
func (s *Store) MiningSummary(ctx context.Context, q MiningQuery) (registry.MiningSummary, error) {
	out := registry.MiningSummary{TokenID: q.Token, From: q.From, To: q.To}
	from, to := ms(q.From), ms(q.To)
	var rates map[string]float64
	err := s.readSnapshot(ctx, func(db *gorm.DB) error { // totals and leaderboard of one commit
		if err := countTotals(db, q.Token, from, to, &out); err != nil {
			return fmt.Errorf("mining of %s: %w", q.Token, err)
		}
		if afterMiningTotals != nil {
			afterMiningTotals()
		}
		if err := firstLast(db, q.Token, from, to, &out); err != nil {
			return fmt.Errorf("mining of %s: %w", q.Token, err)
		}
		if err := s.leaderboard(db, q, &out); err != nil {
			return fmt.Errorf("mining leaderboard of %s: %w", q.Token, err)
		}
		var err error
		rates, err = latestRates(db, `SELECT s.canister_id, s.observed_at, s.hash_rate FROM miner_stats s
			JOIN miners m ON m.canister_id = s.canister_id WHERE m.current_token = ? AND m.is_mining AND s.observed_at >= ?`,
			q.Token, ms(q.FreshAfter))
		if err != nil {
			return fmt.Errorf("network hash rate of %s: %w", q.Token, err)
		}
		return nil
	})
	if err != nil {
		return out, translate(err)
	}
	if len(rates) > 0 {
		var sum float64
		for _, r := range rates {
			sum += r
		}
		out.NetworkHashRate = &sum
	}
	if out.Solutions >= 2 {
		v := out.LastAt.Sub(out.FirstAt).Seconds() / float64(out.Solutions-1)
		out.AverageBlockTimeSeconds = &v
	}
	if span := q.To.Sub(q.From); span > 0 {
		v := float64(out.Solutions) / span.Hours()
		out.BlocksPerHour = &v
	}
	return out, nil
}

// span is a range of Unix milliseconds, lo inclusive, hi exclusive.
type span struct{ lo, hi int64 }

// cover cuts [from, to] (inclusive) by units, coarsest first: tiers[i] are the spans made of
// whole units[i] (the first one from the whole range, the next ones from what the coarser
// tiers left at the ends), and tiers[len(units)] what no unit covers wholly.
func cover(from, to int64, units ...int64) [][]span {
	tiers := make([][]span, len(units)+1)
	rest := []span{{from, to + 1}}
	for i, u := range units {
		var next []span
		for _, r := range rest {
			lo, hi := floorTo(r.lo+u-1, u), floorTo(r.hi, u)
			if lo >= hi {
				next = append(next, r)
				continue
			}
			tiers[i] = append(tiers[i], span{lo, hi})
			if r.lo < lo {
				next = append(next, span{r.lo, lo})
			}
			if hi < r.hi {
				next = append(next, span{hi, r.hi})
			}
		}
		rest = next
	}
	tiers[len(units)] = rest
	return tiers
}

// countTotals fills Solutions, DifficultyMin and DifficultyMax: whole hours from
// mining_token_hours, whole minutes from mining_minutes, the rest from solutions.
func countTotals(db *gorm.DB, token string, from, to int64, out *registry.MiningSummary) error {
	tiers := cover(from, to, hourMs, minuteMs)
	var diff natRange
	for i, q := range []string{
		`SELECT coalesce(sum(solutions), 0), coalesce(min(CASE WHEN difficulty_min <> '' THEN difficulty_min END), ''),
			coalesce(max(difficulty_max), '') FROM mining_token_hours WHERE token_id = ? AND hour_at >= ? AND hour_at < ? AND solutions > 0`,
		`SELECT coalesce(sum(solutions), 0), coalesce(min(CASE WHEN difficulty_min <> '' THEN difficulty_min END), ''),
			coalesce(max(difficulty_max), '') FROM mining_minutes WHERE token_id = ? AND minute_at >= ? AND minute_at < ?`,
	} {
		for _, sp := range tiers[i] {
			var n int64
			var lo, hi string
			if err := one(db.Raw(q, token, sp.lo, sp.hi)).Scan(&n, &lo, &hi); err != nil {
				return err
			}
			out.Solutions += n
			diff.add(lo)
			diff.add(hi)
		}
	}
	for _, sp := range tiers[2] {
		diffs, err := queryList(db, `SELECT difficulty FROM solutions WHERE token_id = ? AND received_at >= ? AND received_at < ?
			AND repeat_of IS NULL`, []any{token, sp.lo, sp.hi}, scanValue[string])
		if err != nil {
			return err
		}
		out.Solutions += int64(len(diffs))
		for _, d := range diffs {
			diff.add(registry.NatKey(d))
		}
	}
	out.DifficultyMin, out.DifficultyMax = registry.NatFromKey(diff.min), registry.NatFromKey(diff.max)
	return nil
}

// firstLast fills the first and last counted solution's time, difficulty and reward.
func firstLast(db *gorm.DB, token string, from, to int64, out *registry.MiningSummary) error {
	for _, dir := range []string{"ASC", "DESC"} {
		var at int64
		var diff, reward string
		err := one(db.Raw(`SELECT received_at, difficulty, reward FROM solutions WHERE token_id = ? AND received_at >= ? AND received_at <= ?
			AND repeat_of IS NULL ORDER BY received_at `+dir+`, notification_id `+dir+` LIMIT 1`, token, from, to)).Scan(&at, &diff, &reward)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if dir == "ASC" {
			out.FirstAt, out.DifficultyFirst, out.RewardFirst = fromMs(at), diff, reward
		} else {
			out.LastAt, out.DifficultyLast, out.RewardLast = fromMs(at), diff, reward
		}
	}
	return nil
}

type minerCount struct {
	miner     string
	solutions int64
	last      int64
}

func scanMinerCount(sc scanner) (minerCount, error) {
	var m minerCount
	return m, sc.Scan(&m.miner, &m.solutions, &m.last)
}

// leaderboard fills Miners and MinerCount: whole days from mining_miner_days, whole hours
// from mining_hours, the rest from solutions.
func (s *Store) leaderboard(db *gorm.DB, q MiningQuery, out *registry.MiningSummary) error {
	tiers := cover(ms(q.From), ms(q.To), dayMs, hourMs)
	var parts []minerCount
	for i, sql := range []string{
		`SELECT miner_id, sum(solutions), max(last_at) FROM mining_miner_days
			WHERE token_id = ? AND day_at >= ? AND day_at < ? GROUP BY miner_id`,
		`SELECT miner_id, sum(solutions), max(last_at) FROM mining_hours
			WHERE token_id = ? AND hour_at >= ? AND hour_at < ? AND solutions > 0 GROUP BY miner_id`,
		`SELECT miner_id, count(*), max(received_at) FROM solutions
			WHERE token_id = ? AND received_at >= ? AND received_at < ? AND repeat_of IS NULL GROUP BY miner_id`,
	} {
		for _, sp := range tiers[i] {
			rows, err := queryList(db, sql, []any{q.Token, sp.lo, sp.hi}, scanMinerCount)
			if err != nil {
				return err
			}
			parts = append(parts, rows...)
		}
	}
	board := mergeCounts(parts)
	out.MinerCount = int64(len(board))
	if q.Leaders <= 0 {
		q.Leaders = 100
	}
	board = board[:min(len(board), q.Leaders)]
	return s.describeLeaders(db, board, q.FreshAfter, out)
}

// mergeCounts sums counts per miner: most solutions first, then the earliest last solution,
// then the miner id.
func mergeCounts(parts []minerCount) []minerCount {
	at := map[string]int{}
	var board []minerCount
	for _, p := range parts {
		if i, ok := at[p.miner]; ok {
			board[i].solutions += p.solutions
			board[i].last = max(board[i].last, p.last)
			continue
		}
		at[p.miner] = len(board)
		board = append(board, p)
	}
	slices.SortFunc(board, func(a, b minerCount) int {
		return cmp.Or(cmp.Compare(b.solutions, a.solutions), cmp.Compare(a.last, b.last), cmp.Compare(a.miner, b.miner))
	})
	return board
}

// describeLeaders adds each leader's registered name and latest fresh hash rate.
func (s *Store) describeLeaders(db *gorm.DB, board []minerCount, freshAfter time.Time, out *registry.MiningSummary) error {
	out.Miners = make([]registry.MinerShare, len(board))
	if len(board) == 0 {
		return nil
	}
	ids := make([]string, len(board))
	for i, m := range board {
		ids[i] = m.miner
	}
	type named struct{ id, name string }
	names, err := queryList(db, "SELECT canister_id, name FROM canisters WHERE canister_id IN ?", []any{ids}, func(sc scanner) (named, error) {
		var n named
		return n, sc.Scan(&n.id, &n.name)
	})
	if err != nil {
		return err
	}
	byID := map[string]string{}
	for _, n := range names {
		byID[n.id] = n.name
	}
	rates, err := latestRates(db, "SELECT canister_id, observed_at, hash_rate FROM miner_stats WHERE canister_id IN ? AND observed_at >= ?",
		ids, ms(freshAfter))
	if err != nil {
		return err
	}
	for i, m := range board {
		out.Miners[i] = registry.MinerShare{MinerID: m.miner, Name: byID[m.miner], Solutions: m.solutions, LastSolutionAt: fromMs(m.last)}
		if r, ok := rates[m.miner]; ok {
			out.Miners[i].HashRate = &r
		}
	}
	return nil
}

// latestRates runs q (canister_id, observed_at, hash_rate rows) and keeps each miner's latest.
func latestRates(db *gorm.DB, q string, args ...any) (map[string]float64, error) {
	type sample struct {
		miner string
		at    int64
		rate  float64
	}
	rows, err := queryList(db, q, args, func(sc scanner) (sample, error) {
		var v sample
		return v, sc.Scan(&v.miner, &v.at, &v.rate)
	})
	if err != nil {
		return nil, err
	}
	at := map[string]int64{}
	out := map[string]float64{}
	for _, r := range rows {
		if t, ok := at[r.miner]; !ok || r.at >= t {
			at[r.miner], out[r.miner] = r.at, r.rate
		}
	}
	return out, nil
}
