package store

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"gorm.io/gorm"

	"canistry/pkg/registry"
)

// The mining follower (migrations 0011 and 0015): SyncMining turns stored solution_found
// outcalls and miner refreshes into the solutions table and its aggregates (per minute, token
// hour, miner hour and miner day; mining_agg.go). It runs apart from the intake (the notifier's
// notify.MiningFollower calls it when woken and on its own poll), never inside a claim
// transaction, so the intake's write path is unchanged.
//
// Exactly once: a batch, its aggregates and the new positions commit in one write
// transaction, which holds its position's row until it commits, so two followers (two
// notifiers) serialise and the second starts from where the first ended. On SQLite that is the
// write lock every write transaction holds (IMMEDIATE). On PostgreSQL the follower writes apart
// from the intake (dialect.followerApart): on a connection of its own (Store.fw), without the
// advisory write lock, locking the position's row FOR UPDATE instead, and its tables bump
// data_version's second row (migration 0018), so that it holds neither the write lock nor the
// counter's row that every other write locks while it inserts a batch, and the intake's claims
// never wait for it (before, a sync held the notifier's one writer connection, and with it
// every claim of the process). A notification is one claimed outcall: its replica copies only
// count on it, and refused outcalls are never stored, so neither is read twice.

// MiningSync is what one SyncMining call applied.
type MiningSync struct {
	Solutions int  // solution_found outcalls stored as solutions (counted and repeats)
	Repeats   int  // of which repeat a block height already stored for their token
	Skipped   int  // solution_found outcalls without a token_id or a whole-number block_height
	HashRates int  // miner refreshes read (attributed to the token the miner was mining)
	More      bool // a batch was full: call again to catch up
	// Position: every stored solution_found outcall with a notification id up to it has been
	// applied (read as a solution or skipped).
	Position int64
}

// MiningBatch is how many outcalls (and how many refreshes) one SyncMining call reads.
const MiningBatch = 500

const (
	minuteMs = int64(60_000)
	hourMs   = 60 * minuteMs
)

// SyncMining applies the next batch of stored solution_found outcalls and miner refreshes.
// It reads and parses the batch on the read pool, outside the write lock, so that the intake's
// writes wait only for the follower's inserts; in the write transaction it checks that its
// position is still the one the batch was read after (else another follower moved it: it reads
// the batch again there). When nothing is past the positions it takes no write lock: the
// follower's poll and its syncs before deliveries cost the intake nothing while there is
// nothing to apply.
func (s *Store) SyncMining(ctx context.Context) (MiningSync, error) {
	var out MiningSync
	var rates bool
	if err := s.readOne(ctx, `SELECT p.last_id, EXISTS (SELECT 1 FROM miner_stats WHERE id > (SELECT last_id FROM mining_positions WHERE name = 'hash_rates'))
		FROM mining_positions p WHERE p.name = 'solutions'`).Scan(&out.Position, &rates); err != nil {
		return out, fmt.Errorf("sync mining: %w", translate(err))
	}
	pre, err := readOutcalls(s.read(ctx), out.Position)
	if err != nil {
		return out, fmt.Errorf("sync mining: %w", translate(err))
	}
	if len(pre.rows) == 0 && !rates {
		return out, nil
	}
	err = s.writeOn(ctx, s.fw, func(tx *gorm.DB) error {
		out = MiningSync{}
		w, err := s.txRows(ctx, tx)
		if err != nil {
			return err
		}
		if err := syncSolutionsTx(w, tx, pre, &out); err != nil || !rates {
			return err // refreshes stored since the read wait for the next sync
		}
		return syncHashRatesTx(w, tx, &out)
	})
	s.fw.stmts.prepareMissed(ctx)
	if err != nil {
		return MiningSync{}, fmt.Errorf("sync mining: %w", err)
	}
	return out, nil
}

// outcallBatch is the next stored solution_found outcalls after a position, parsed.
type outcallBatch struct {
	after   int64
	rows    []outcallRow
	sols    []solutionRow // the rows that are solutions, in id order (RepeatOf not set yet)
	skipped int
}

// readOutcalls reads and parses the next MiningBatch solution_found outcalls after pos.
func readOutcalls(db *gorm.DB, pos int64) (outcallBatch, error) {
	b := outcallBatch{after: pos}
	rows, err := queryList(db, `SELECT id, miner_id, data, received_at FROM notifications
		WHERE event = ? AND id > ? ORDER BY id LIMIT ?`, []any{registry.EventSolutionFound, pos, MiningBatch}, scanOutcall)
	if err != nil {
		return b, err
	}
	b.rows, b.sols = rows, make([]solutionRow, 0, len(rows))
	for _, r := range rows {
		if row, ok := parseSolution(r); ok {
			b.sols = append(b.sols, row)
		} else {
			b.skipped++
		}
	}
	return b, nil
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

// syncSolutionsTx applies pre, the batch read after the position before the transaction, or
// the batch after the position it finds if that moved meanwhile.
func syncSolutionsTx(w txRows, tx *gorm.DB, pre outcallBatch, out *MiningSync) error {
	pos, err := positionTx(tx, w.rowLock, "solutions")
	if err != nil {
		return err
	}
	out.Position = pos
	if pos != pre.after {
		if pre, err = readOutcalls(tx, pos); err != nil {
			return err
		}
	}
	if len(pre.rows) == 0 {
		return nil
	}
	out.Skipped = pre.skipped
	if sols := slices.Clone(pre.sols); len(sols) > 0 { // a clone: s.write may run this again
		if err := storeSolutions(w, tx, sols); err != nil {
			return err
		}
		agg := newMiningAgg()
		for i := range sols {
			out.Solutions++
			if sols[i].RepeatOf != nil {
				out.Repeats++
				continue
			}
			agg.add(&sols[i])
		}
		if err := agg.flush(w); err != nil {
			return err
		}
	}
	out.More = out.More || len(pre.rows) == MiningBatch
	out.Position = pre.rows[len(pre.rows)-1].ID
	return setPositionTx(tx, "solutions", pos, out.Position)
}

// heightKey is a block height of a token.
type heightKey struct{ token, height string }

// The PostgreSQL form of the follower's solution inserts (dialect.columnArrays): one array per
// column, so that its text is one whatever the batch's length, prepared once per connection and
// planned once, where a VALUES list of 500 rows (5,000 parameters) is bound and planned again
// at each batch.
const insertSolutionArrays = `INSERT INTO solutions (notification_id, token_id, block_height, miner_id, difficulty, reward,
	hash, nonce, received_at, repeat_of) SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[],
	$6::text[], $7::text[], $8::text[], $9::bigint[], $10::bigint[])`

// firstHeight is what inserting the first solutions of heights adds to the INSERT: the partial
// unique index of the solutions that count (migration 0019) decides which heights are new.
const (
	firstHeight               = ` ON CONFLICT (token_id, block_height) WHERE repeat_of IS NULL DO NOTHING RETURNING notification_id`
	insertFirstSolutionArrays = insertSolutionArrays + firstHeight
)

// storeSolutions inserts the batch's solutions (in id order) and sets RepeatOf on each whose
// height is already stored for its token or came earlier in the batch. The batch's first
// solution of each height goes in one multi-row INSERT that skips, through the index of the
// heights that count, those whose height was stored before; what it returns are the new ones.
// The others, repeats (rare), are inserted next with the first of their height: an earlier one
// of the batch, or the stored one (one SELECT per height).
func storeSolutions(w txRows, tx *gorm.DB, sols []solutionRow) error {
	first := map[heightKey]int{} // height → index of its first solution in the batch
	var cands []solutionRow
	for i := range sols {
		k := heightKey{sols[i].TokenID, sols[i].BlockHeight}
		if _, ok := first[k]; !ok {
			first[k] = i
			cands = append(cands, sols[i])
		}
	}
	inserted, err := insertFirstSolutions(w, cands)
	if err != nil {
		return fmt.Errorf("store solutions %d–%d: %w", sols[0].NotificationID, sols[len(sols)-1].NotificationID, err)
	}
	var repeats []solutionRow
	for i := range sols {
		f := first[heightKey{sols[i].TokenID, sols[i].BlockHeight}]
		switch {
		case f == i && inserted[sols[i].NotificationID]:
			continue
		case f == i:
			var stored int64
			if err := one(tx.Raw("SELECT notification_id FROM solutions WHERE token_id = ? AND block_height = ? AND repeat_of IS NULL",
				sols[i].TokenID, sols[i].BlockHeight)).Scan(&stored); err != nil {
				return fmt.Errorf("solution height %s of %s: %w", sols[i].BlockHeight, sols[i].TokenID, err)
			}
			sols[i].RepeatOf = &stored
		case sols[f].RepeatOf != nil:
			sols[i].RepeatOf = sols[f].RepeatOf
		default:
			sols[i].RepeatOf = &sols[f].NotificationID
		}
		repeats = append(repeats, sols[i])
	}
	return insertSolutions(w, repeats)
}

// insertFirstSolutions inserts sols, each the first of its height in the batch, but those
// whose height is stored already, and returns the notification ids of those it inserted.
func insertFirstSolutions(w txRows, sols []solutionRow) (map[int64]bool, error) {
	if w.arrays {
		return w.arrayIDs(insertFirstSolutionArrays, solutionColumnArrays(sols))
	}
	return w.ids(insertFirstSolutionRows, len(sols), solutionArgs(sols))
}

var (
	insertSolutionRows = &multiRow{`INSERT INTO solutions (notification_id, token_id, block_height, miner_id, difficulty,
	reward, hash, nonce, received_at, repeat_of) VALUES `, `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, ``}
	insertFirstSolutionRows = &multiRow{insertSolutionRows.head, insertSolutionRows.row, firstHeight}
)

// insertSolutions stores solutions in one INSERT (none: nothing).
func insertSolutions(w txRows, sols []solutionRow) error {
	if len(sols) == 0 {
		return nil
	}
	var err error
	if w.arrays {
		_, err = w.tx.ExecContext(w.ctx, insertSolutionArrays, solutionColumnArrays(sols)...)
	} else {
		err = w.exec(insertSolutionRows, len(sols), solutionArgs(sols))
	}
	if err != nil {
		return fmt.Errorf("store solutions %d–%d: %w", sols[0].NotificationID, sols[len(sols)-1].NotificationID, err)
	}
	return nil
}

// solutionArgs is sols as the arguments of a multi-row INSERT of insertSolutionRows' columns.
func solutionArgs(sols []solutionRow) []any {
	args := make([]any, 0, 10*len(sols))
	for _, r := range sols {
		args = append(args, r.NotificationID, r.TokenID, r.BlockHeight, r.MinerID, r.Difficulty, r.Reward, r.Hash, r.Nonce,
			r.ReceivedAt, r.RepeatOf)
	}
	return args
}

// solutionColumnArrays is sols as one array per column of solutions, in insertSolutionArrays'
// order.
func solutionColumnArrays(sols []solutionRow) []any {
	n := len(sols)
	ids, received := make([]int64, n), make([]int64, n)
	repeats := make([]*int64, n)
	texts := make([][]string, 7)
	for c := range texts {
		texts[c] = make([]string, n)
	}
	for i, r := range sols {
		ids[i], received[i], repeats[i] = r.NotificationID, r.ReceivedAt, r.RepeatOf
		for c, v := range []string{r.TokenID, r.BlockHeight, r.MinerID, r.Difficulty, r.Reward, r.Hash, r.Nonce} {
			texts[c][i] = v
		}
	}
	return []any{ids, texts[0], texts[1], texts[2], texts[3], texts[4], texts[5], texts[6], received, repeats}
}

// positionTx reads a position in the follower's write transaction, locking its row until the
// transaction ends where the transaction holds no write lock (rowLock: dialect.followerApart).
func positionTx(tx *gorm.DB, rowLock, name string) (int64, error) {
	var pos int64
	err := one(tx.Raw("SELECT last_id FROM mining_positions WHERE name = ?"+rowLock, name)).Scan(&pos)
	return pos, err
}

// setPositionTx moves a position from old to pos; it is an error if it was moved meanwhile
// (impossible while the transaction holds the write lock or the position's row: kept as the
// guard of exactly-once).
func setPositionTx(tx *gorm.DB, name string, old, pos int64) error {
	res := tx.Exec("UPDATE mining_positions SET last_id = ? WHERE name = ? AND last_id = ?", pos, name, old)
	if res.Error == nil && res.RowsAffected != 1 {
		return fmt.Errorf("mining position %s moved from %d by another writer", name, old)
	}
	return res.Error
}

// rateRow is a miner refresh with the token its miner was mining when the follower read it.
type rateRow struct {
	ID, ObservedAt int64
	MinerID, Token string
	HashRate       float64
}

// syncHashRatesTx adds the next refreshes to mining_hours under the token their miner is
// mining (a refresh of a miner that is not mining counts for no token), then recomputes the
// network hash rate of each token hour they fell in.
func syncHashRatesTx(w txRows, tx *gorm.DB, out *MiningSync) error {
	pos, err := positionTx(tx, w.rowLock, "hash_rates")
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
	agg := newMiningAgg()
	touched := map[tokenHour]bool{}
	for _, r := range rows {
		if r.Token == "" {
			continue
		}
		h := agg.hour(hourKey{r.Token, floorTo(r.ObservedAt, hourMs), r.MinerID})
		h.rateSum += r.HashRate
		h.rateSamples++
		touched[tokenHour{r.Token, floorTo(r.ObservedAt, hourMs)}] = true
	}
	if err := agg.flush(w); err != nil {
		return err
	}
	for _, k := range slices.SortedFunc(maps.Keys(touched), tokenHour.compare) {
		if err := tx.Exec(`INSERT INTO mining_token_hours (token_id, hour_at, hash_rate)
			SELECT token_id, hour_at, sum(hash_rate_sum / hash_rate_samples) FROM mining_hours
			WHERE token_id = ? AND hour_at = ? AND hash_rate_samples > 0 GROUP BY token_id, hour_at
			ON CONFLICT (token_id, hour_at) DO UPDATE SET hash_rate = excluded.hash_rate`, k.token, k.hour).Error; err != nil {
			return fmt.Errorf("network hash rate of %s at %d: %w", k.token, k.hour, err)
		}
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
