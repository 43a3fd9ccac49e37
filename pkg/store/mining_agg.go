package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"

	"gorm.io/gorm"

	"canistry/pkg/registry"
)

// The follower's aggregates (migrations 0011 and 0015): a batch of solutions is summed in
// memory per minute, token hour, miner hour and miner day, then written as one multi-row
// upsert per table, so a batch costs a fixed number of statements whatever its size.

const dayMs = 24 * hourMs

// txRows runs the follower's multi-row statements on the write transaction's database/sql
// transaction. Their text depends on the batch's size; the sizes a stream of outcalls repeats
// (a full batch, and the few rows of the aggregates) are prepared once on the follower's writer
// (s.fw, prepared.go), the others parsed at each use.
type txRows struct {
	ctx     context.Context
	tx      *sql.Tx
	stmts   *stmtCache
	arrays  bool   // dialect.columnArrays
	rowLock string // " FOR UPDATE" where the follower's transaction holds no write lock (dialect.followerApart)
}

func (s *Store) txRows(ctx context.Context, tx *gorm.DB) (txRows, error) {
	t, err := sqlTx(tx)
	w := txRows{ctx: ctx, tx: t, stmts: s.fw.stmts, arrays: s.d.columnArrays}
	if s.d.followerApart {
		w.rowLock = " FOR UPDATE"
	}
	return w, err
}

// preparedRows reports whether the follower's statements of n rows are kept prepared.
func preparedRows(n int) bool { return n <= 8 || n == MiningBatch }

func (w txRows) exec(m *multiRow, n int, args []any) error {
	switch {
	case n == 0:
		return nil
	case preparedRows(n):
		return w.stmts.exec(w.ctx, w.tx, batchSQL(m, n), args...)
	}
	_, err := w.tx.ExecContext(w.ctx, w.stmts.text(m.text(n)), args...)
	return err
}

// ids runs m for n rows, which returns one int64 per row it wrote.
func (w txRows) ids(m *multiRow, n int, args []any) (map[int64]bool, error) {
	if preparedRows(n) {
		return scanIDs(w.stmts.query(w.ctx, w.tx, batchSQL(m, n), args...))
	}
	return scanIDs(w.tx.QueryContext(w.ctx, w.stmts.text(m.text(n)), args...))
}

// arrayIDs runs q, a statement of one array per column in the driver's own text
// (dialect.columnArrays), which returns one int64 per row it wrote.
func (w txRows) arrayIDs(q string, args []any) (map[int64]bool, error) {
	return scanIDs(w.tx.QueryContext(w.ctx, q, args...))
}

// scanIDs reads the int64 of each row of rs.
func scanIDs(rs *sql.Rows, err error) (map[int64]bool, error) {
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := map[int64]bool{}
	for rs.Next() {
		var id int64
		if err := rs.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rs.Err()
}

type tokenHour struct {
	token string
	hour  int64
}

func (x tokenHour) compare(y tokenHour) int {
	return cmp.Or(cmp.Compare(x.token, y.token), cmp.Compare(x.hour, y.hour))
}

type minuteKey struct {
	token  string
	minute int64
}

// natRange is the least and greatest of some difficulties, as NatKeys ("": none yet).
type natRange struct{ min, max string }

// add widens r by key (a NatKey; "" adds nothing).
func (r *natRange) add(key string) {
	if key == "" {
		return
	}
	if r.min == "" || key < r.min {
		r.min = key
	}
	r.max = max(r.max, key)
}

// countAgg is the counted solutions of a minute or token hour.
type countAgg struct {
	solutions, first, last int64
	diff                   natRange
}

func (m *countAgg) add(r *solutionRow) {
	if m.solutions == 0 {
		m.first, m.last = r.ReceivedAt, r.ReceivedAt
	}
	m.solutions++
	m.first, m.last = min(m.first, r.ReceivedAt), max(m.last, r.ReceivedAt)
	m.diff.add(registry.NatKey(r.Difficulty))
}

// hourKey is a miner's hour (mining_hours) or, with a day's start, its day (mining_miner_days).
type hourKey struct {
	token string
	hour  int64
	miner string
}

func (x hourKey) compare(y hourKey) int {
	return cmp.Or(cmp.Compare(x.token, y.token), cmp.Compare(x.hour, y.hour), cmp.Compare(x.miner, y.miner))
}

type hourAgg struct {
	solutions, last int64
	rateSum         float64
	rateSamples     int64
}

// miningAgg sums one batch, so that a batch costs one upsert per table.
type miningAgg struct {
	minutes map[minuteKey]*countAgg
	tokens  map[tokenHour]*countAgg
	hours   map[hourKey]*hourAgg
	days    map[hourKey]*hourAgg
}

func newMiningAgg() *miningAgg {
	return &miningAgg{minutes: map[minuteKey]*countAgg{}, tokens: map[tokenHour]*countAgg{}, hours: map[hourKey]*hourAgg{},
		days: map[hourKey]*hourAgg{}}
}

func (a *miningAgg) add(r *solutionRow) {
	get(a.minutes, minuteKey{r.TokenID, floorTo(r.ReceivedAt, minuteMs)}).add(r)
	get(a.tokens, tokenHour{r.TokenID, floorTo(r.ReceivedAt, hourMs)}).add(r)
	for _, h := range []*hourAgg{a.hour(hourKey{r.TokenID, floorTo(r.ReceivedAt, hourMs), r.MinerID}),
		get(a.days, hourKey{r.TokenID, floorTo(r.ReceivedAt, dayMs), r.MinerID})} {
		h.solutions++
		h.last = max(h.last, r.ReceivedAt)
	}
}

func (a *miningAgg) hour(k hourKey) *hourAgg { return get(a.hours, k) }

func get[K comparable, V any](m map[K]*V, k K) *V {
	v := m[k]
	if v == nil {
		v = new(V)
		m[k] = v
	}
	return v
}

// The upserts: excluded is the batch's sum, added to (or compared with) the stored row.
const countUpdate = `solutions = %[1]s.solutions + excluded.solutions,
	first_at = CASE WHEN %[1]s.solutions = 0 OR excluded.first_at < %[1]s.first_at THEN excluded.first_at ELSE %[1]s.first_at END,
	last_at = CASE WHEN excluded.last_at > %[1]s.last_at THEN excluded.last_at ELSE %[1]s.last_at END,
	difficulty_min = CASE WHEN %[1]s.difficulty_min = '' OR (excluded.difficulty_min <> '' AND excluded.difficulty_min < %[1]s.difficulty_min)
		THEN excluded.difficulty_min ELSE %[1]s.difficulty_min END,
	difficulty_max = CASE WHEN excluded.difficulty_max > %[1]s.difficulty_max THEN excluded.difficulty_max ELSE %[1]s.difficulty_max END`

var (
	upsertMinutes = &multiRow{`INSERT INTO mining_minutes (token_id, minute_at, solutions, first_at, last_at, difficulty_min,
		difficulty_max) VALUES `, `(?, ?, ?, ?, ?, ?, ?)`,
		` ON CONFLICT (token_id, minute_at) DO UPDATE SET ` + fmt.Sprintf(countUpdate, "mining_minutes")}
	upsertTokenHours = &multiRow{`INSERT INTO mining_token_hours (token_id, hour_at, solutions, first_at, last_at, difficulty_min,
		difficulty_max) VALUES `, `(?, ?, ?, ?, ?, ?, ?)`,
		` ON CONFLICT (token_id, hour_at) DO UPDATE SET ` + fmt.Sprintf(countUpdate, "mining_token_hours")}
	upsertHours = &multiRow{`INSERT INTO mining_hours (token_id, hour_at, miner_id, solutions, last_at, hash_rate_sum,
		hash_rate_samples) VALUES `, `(?, ?, ?, ?, ?, ?, ?)`, ` ON CONFLICT (token_id, hour_at, miner_id) DO UPDATE SET
		solutions = mining_hours.solutions + excluded.solutions,
		last_at = CASE WHEN excluded.last_at > mining_hours.last_at THEN excluded.last_at ELSE mining_hours.last_at END,
		hash_rate_sum = mining_hours.hash_rate_sum + excluded.hash_rate_sum,
		hash_rate_samples = mining_hours.hash_rate_samples + excluded.hash_rate_samples`}
	upsertDays = &multiRow{`INSERT INTO mining_miner_days (token_id, day_at, miner_id, solutions, last_at) VALUES `,
		`(?, ?, ?, ?, ?)`, ` ON CONFLICT (token_id, day_at, miner_id) DO UPDATE SET
		solutions = mining_miner_days.solutions + excluded.solutions,
		last_at = CASE WHEN excluded.last_at > mining_miner_days.last_at THEN excluded.last_at ELSE mining_miner_days.last_at END`}
)

// flush upserts the batch's sums, each table's rows in key order.
func (a *miningAgg) flush(w txRows) error {
	for _, f := range []func() error{
		func() error {
			return upsert(w, upsertMinutes, a.minutes, func(x, y minuteKey) int {
				return cmp.Or(cmp.Compare(x.token, y.token), cmp.Compare(x.minute, y.minute))
			}, func(k minuteKey, m *countAgg) []any {
				return []any{k.token, k.minute, m.solutions, m.first, m.last, m.diff.min, m.diff.max}
			})
		},
		func() error {
			return upsert(w, upsertTokenHours, a.tokens, tokenHour.compare, func(k tokenHour, m *countAgg) []any {
				return []any{k.token, k.hour, m.solutions, m.first, m.last, m.diff.min, m.diff.max}
			})
		},
		func() error {
			return upsert(w, upsertHours, a.hours, hourKey.compare, func(k hourKey, h *hourAgg) []any {
				return []any{k.token, k.hour, k.miner, h.solutions, h.last, h.rateSum, h.rateSamples}
			})
		},
		func() error {
			return upsert(w, upsertDays, a.days, hourKey.compare, func(k hourKey, d *hourAgg) []any {
				return []any{k.token, k.hour, k.miner, d.solutions, d.last}
			})
		},
	} {
		if err := f(); err != nil {
			return err
		}
	}
	return nil
}

// upsert writes rows as one multi-row statement m, in key order (so that two writers would
// lock rows in the same order).
func upsert[K comparable, V any](w txRows, m *multiRow, rows map[K]*V, order func(K, K) int, values func(K, *V) []any) error {
	var args []any
	for _, k := range slices.SortedFunc(maps.Keys(rows), order) {
		args = append(args, values(k, rows[k])...)
	}
	if err := w.exec(m, len(rows), args); err != nil {
		return fmt.Errorf("mining aggregates (%s): %w", strings.Fields(m.head)[2], err)
	}
	return nil
}
