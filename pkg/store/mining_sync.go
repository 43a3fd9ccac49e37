package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"gorm.io/gorm"

	"canistry/pkg/registry"
)

// The mining follower (migration 0011): SyncMining turns stored solution_found outcalls and
// miner refreshes into the solutions table and its per-minute and per-hour aggregates. It
// runs apart from the intake (the notifier calls it after each read of the event log and on
// its own poll), never inside a claim transaction, so the intake's write path is unchanged.
//
// Exactly once: a batch, its aggregates and the new positions commit in one write
// transaction, and every write transaction holds the database's write lock (SQLite's
// IMMEDIATE, PostgreSQL's advisory lock), so two followers (two notifiers) serialise and the
// second starts from where the first ended. A notification is one claimed outcall: its replica
// copies only count on it, and refused outcalls are never stored, so neither is read twice.

// MiningSync is what one SyncMining call applied.
type MiningSync struct {
	Solutions int  // solution_found outcalls stored as solutions (counted and repeats)
	Repeats   int  // of which repeat a block height already stored for their token
	Skipped   int  // solution_found outcalls without a token_id or a whole-number block_height
	HashRates int  // miner refreshes read (attributed to the token the miner was mining)
	More      bool // a batch was full: call again to catch up
}

// MiningBatch is how many outcalls (and how many refreshes) one SyncMining call reads.
const MiningBatch = 500

const (
	minuteMs = int64(60_000)
	hourMs   = 60 * minuteMs
)

// SyncMining applies the next batch of stored solution_found outcalls and miner refreshes.
func (s *Store) SyncMining(ctx context.Context) (MiningSync, error) {
	var out MiningSync
	err := s.write(ctx, func(tx *gorm.DB) error {
		out = MiningSync{}
		if err := syncSolutionsTx(tx, &out); err != nil {
			return err
		}
		return syncHashRatesTx(tx, &out)
	})
	if err != nil {
		return MiningSync{}, fmt.Errorf("sync mining: %w", err)
	}
	return out, nil
}

// solutionRow is one row of solutions.
type solutionRow struct {
	NotificationID int64 `gorm:"primaryKey;autoIncrement:false"`
	TokenID        string
	BlockHeight    string
	MinerID        string
	Difficulty     string
	Reward         string
	Hash           string
	Nonce          string
	ReceivedAt     int64
	RepeatOf       *int64
}

func (solutionRow) TableName() string { return "solutions" }

// outcallRow is a stored solution_found outcall as the follower reads it.
type outcallRow struct {
	ID         int64
	MinerID    string
	Data       string
	ReceivedAt int64
}

func scanOutcall(sc scanner) (outcallRow, error) {
	var r outcallRow
	return r, sc.Scan(&r.ID, &r.MinerID, &r.Data, &r.ReceivedAt)
}

func syncSolutionsTx(tx *gorm.DB, out *MiningSync) error {
	pos, err := positionTx(tx, "solutions")
	if err != nil {
		return err
	}
	rows, err := queryList(tx, `SELECT id, miner_id, data, received_at FROM notifications
		WHERE event = ? AND id > ? ORDER BY id LIMIT ?`, []any{registry.EventSolutionFound, pos, MiningBatch}, scanOutcall)
	if err != nil || len(rows) == 0 {
		return err
	}
	agg := miningAgg{minutes: map[minuteKey]*minuteAgg{}, hours: map[hourKey]*hourAgg{}}
	for _, r := range rows {
		row, ok := parseSolution(r)
		if !ok {
			out.Skipped++
			continue
		}
		if err := claimHeightTx(tx, &row); err != nil {
			return err
		}
		if err := tx.Create(&row).Error; err != nil {
			return fmt.Errorf("store solution %d: %w", row.NotificationID, err)
		}
		out.Solutions++
		if row.RepeatOf != nil {
			out.Repeats++
			continue
		}
		agg.add(&row)
	}
	if err := agg.flush(tx); err != nil {
		return err
	}
	out.More = out.More || len(rows) == MiningBatch
	return setPositionTx(tx, "solutions", pos, rows[len(rows)-1].ID)
}

// parseSolution reads a solution_found outcall's data (CANISTERS.md: token_id, block_height,
// nonce, hash, difficulty, reward). Nats may come as JSON numbers or decimal strings.
func parseSolution(r outcallRow) (solutionRow, bool) {
	var d struct {
		TokenID     string          `json:"token_id"`
		BlockHeight json.RawMessage `json:"block_height"`
		Difficulty  json.RawMessage `json:"difficulty"`
		Reward      json.RawMessage `json:"reward"`
		Hash        json.RawMessage `json:"hash"`
		Nonce       json.RawMessage `json:"nonce"`
	}
	if json.Unmarshal([]byte(r.Data), &d) != nil || d.TokenID == "" || len(d.TokenID) > 200 {
		return solutionRow{}, false
	}
	height, ok := registry.ParseNat(d.BlockHeight)
	if !ok {
		return solutionRow{}, false
	}
	row := solutionRow{NotificationID: r.ID, TokenID: d.TokenID, BlockHeight: height, MinerID: r.MinerID,
		Hash: plainText(d.Hash), Nonce: plainText(d.Nonce), ReceivedAt: r.ReceivedAt}
	row.Difficulty, _ = registry.ParseNat(d.Difficulty)
	row.Reward, _ = registry.ParseNat(d.Reward)
	return row, true
}

// plainText is a JSON string's text or a number's digits, at most 200 bytes ("" otherwise).
func plainText(raw json.RawMessage) string {
	var v any
	if len(raw) == 0 || json.Unmarshal(raw, &v) != nil {
		return ""
	}
	var s string
	switch v.(type) {
	case string:
		_ = json.Unmarshal(raw, &s)
	case float64:
		s = string(raw)
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// claimHeightTx makes row the first solution of its height, or marks it a repeat of the first.
func claimHeightTx(tx *gorm.DB, row *solutionRow) error {
	var first int64
	err := one(tx.Raw(`INSERT INTO solution_heights (token_id, block_height, notification_id) VALUES (?, ?, ?)
		ON CONFLICT (token_id, block_height) DO NOTHING RETURNING notification_id`, row.TokenID, row.BlockHeight, row.NotificationID)).
		Scan(&first)
	if err == nil {
		return nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if err := one(tx.Raw("SELECT notification_id FROM solution_heights WHERE token_id = ? AND block_height = ?",
		row.TokenID, row.BlockHeight)).Scan(&first); err != nil {
		return err
	}
	row.RepeatOf = &first
	return nil
}

func positionTx(tx *gorm.DB, name string) (int64, error) {
	var pos int64
	err := one(tx.Raw("SELECT last_id FROM mining_positions WHERE name = ?", name)).Scan(&pos)
	return pos, err
}

// setPositionTx moves a position from old to pos; it is an error if it was moved meanwhile
// (impossible while writes hold the write lock: kept as the guard of exactly-once).
func setPositionTx(tx *gorm.DB, name string, old, pos int64) error {
	res := tx.Exec("UPDATE mining_positions SET last_id = ? WHERE name = ? AND last_id = ?", pos, name, old)
	if res.Error == nil && res.RowsAffected != 1 {
		return fmt.Errorf("mining position %s moved from %d by another writer", name, old)
	}
	return res.Error
}

type minuteKey struct {
	token  string
	minute int64
}

type minuteAgg struct {
	solutions, first, last int64
	dmin, dmax             string // NatKey
}

type hourKey struct {
	token string
	hour  int64
	miner string
}

type hourAgg struct {
	solutions, last int64
	rateSum         float64
	rateSamples     int64
}

// miningAgg sums one batch by minute and by hour, so that a batch costs one upsert per minute
// and per (hour, miner) rather than one per solution.
type miningAgg struct {
	minutes map[minuteKey]*minuteAgg
	hours   map[hourKey]*hourAgg
}

func (a *miningAgg) add(r *solutionRow) {
	mk := minuteKey{r.TokenID, floorTo(r.ReceivedAt, minuteMs)}
	m := a.minutes[mk]
	if m == nil {
		m = &minuteAgg{first: r.ReceivedAt, last: r.ReceivedAt}
		a.minutes[mk] = m
	}
	m.solutions++
	m.first, m.last = min(m.first, r.ReceivedAt), max(m.last, r.ReceivedAt)
	if k := registry.NatKey(r.Difficulty); k != "" {
		if m.dmin == "" || k < m.dmin {
			m.dmin = k
		}
		m.dmax = max(m.dmax, k)
	}
	h := a.hour(hourKey{r.TokenID, floorTo(r.ReceivedAt, hourMs), r.MinerID})
	h.solutions++
	h.last = max(h.last, r.ReceivedAt)
}

func (a *miningAgg) hour(k hourKey) *hourAgg {
	h := a.hours[k]
	if h == nil {
		h = &hourAgg{}
		a.hours[k] = h
	}
	return h
}

// flush upserts the batch's sums, in key order.
func (a *miningAgg) flush(tx *gorm.DB) error {
	for _, k := range slices.SortedFunc(maps.Keys(a.minutes), func(x, y minuteKey) int {
		return cmp.Or(cmp.Compare(x.token, y.token), cmp.Compare(x.minute, y.minute))
	}) {
		m := a.minutes[k]
		if err := tx.Exec(`INSERT INTO mining_minutes (token_id, minute_at, solutions, first_at, last_at, difficulty_min, difficulty_max)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (token_id, minute_at) DO UPDATE SET
			solutions = mining_minutes.solutions + excluded.solutions,
			first_at = CASE WHEN excluded.first_at < mining_minutes.first_at THEN excluded.first_at ELSE mining_minutes.first_at END,
			last_at = CASE WHEN excluded.last_at > mining_minutes.last_at THEN excluded.last_at ELSE mining_minutes.last_at END,
			difficulty_min = CASE WHEN mining_minutes.difficulty_min = '' OR (excluded.difficulty_min <> '' AND excluded.difficulty_min < mining_minutes.difficulty_min)
				THEN excluded.difficulty_min ELSE mining_minutes.difficulty_min END,
			difficulty_max = CASE WHEN excluded.difficulty_max > mining_minutes.difficulty_max THEN excluded.difficulty_max ELSE mining_minutes.difficulty_max END`,
			k.token, k.minute, m.solutions, m.first, m.last, m.dmin, m.dmax).Error; err != nil {
			return fmt.Errorf("mining minutes: %w", err)
		}
	}
	for _, k := range slices.SortedFunc(maps.Keys(a.hours), func(x, y hourKey) int {
		return cmp.Or(cmp.Compare(x.token, y.token), cmp.Compare(x.hour, y.hour), cmp.Compare(x.miner, y.miner))
	}) {
		h := a.hours[k]
		if err := tx.Exec(`INSERT INTO mining_hours (token_id, hour_at, miner_id, solutions, last_at, hash_rate_sum, hash_rate_samples)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (token_id, hour_at, miner_id) DO UPDATE SET
			solutions = mining_hours.solutions + excluded.solutions,
			last_at = CASE WHEN excluded.last_at > mining_hours.last_at THEN excluded.last_at ELSE mining_hours.last_at END,
			hash_rate_sum = mining_hours.hash_rate_sum + excluded.hash_rate_sum,
			hash_rate_samples = mining_hours.hash_rate_samples + excluded.hash_rate_samples`,
			k.token, k.hour, k.miner, h.solutions, h.last, h.rateSum, h.rateSamples).Error; err != nil {
			return fmt.Errorf("mining hours: %w", err)
		}
	}
	return nil
}

// rateRow is a miner refresh with the token its miner was mining when the follower read it.
type rateRow struct {
	ID, ObservedAt int64
	MinerID, Token string
	HashRate       float64
}

// syncHashRatesTx adds the next refreshes to mining_hours under the token their miner is
// mining (a refresh of a miner that is not mining counts for no token).
func syncHashRatesTx(tx *gorm.DB, out *MiningSync) error {
	pos, err := positionTx(tx, "hash_rates")
	if err != nil {
		return err
	}
	rows, err := queryList(tx, `SELECT s.id, s.observed_at, s.canister_id,
			coalesce(CASE WHEN m.is_mining THEN m.current_token END, ''), s.hash_rate
		FROM miner_stats s LEFT JOIN miners m ON m.canister_id = s.canister_id
		WHERE s.id > ? ORDER BY s.id LIMIT ?`, []any{pos, MiningBatch}, func(sc scanner) (rateRow, error) {
		var r rateRow
		return r, sc.Scan(&r.ID, &r.ObservedAt, &r.MinerID, &r.Token, &r.HashRate)
	})
	if err != nil || len(rows) == 0 {
		return err
	}
	agg := miningAgg{hours: map[hourKey]*hourAgg{}}
	for _, r := range rows {
		if r.Token == "" {
			continue
		}
		h := agg.hour(hourKey{r.Token, floorTo(r.ObservedAt, hourMs), r.MinerID})
		h.rateSum += r.HashRate
		h.rateSamples++
	}
	if err := agg.flush(tx); err != nil {
		return err
	}
	out.HashRates = len(rows)
	out.More = out.More || len(rows) == MiningBatch
	return setPositionTx(tx, "hash_rates", pos, rows[len(rows)-1].ID)
}

// floorTo rounds a Unix millisecond time down to a multiple of unit (times before 1970 too).
func floorTo(t, unit int64) int64 {
	r := t % unit
	if r < 0 {
		r += unit
	}
	return t - r
}
