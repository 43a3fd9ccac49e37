package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"

	"canistry/pkg/registry"
)

// claimBatch writes a batch of claims (ClaimNotifications) as a fixed number of multi-row
// statements, whatever the batch's size: one read of the keys' claims and refusals, then, for
// the keys that are new, one INSERT each into notifications, notification_claims,
// notification_copies and events (and a DELETE of the expired claims, when there are any).
// The claims' INSERT … ON CONFLICT DO NOTHING RETURNING is what decides: a key it does not
// return was claimed by another writer after the read, and the transaction runs again.
// Copies of a key already claimed (in the database or earlier in the batch) are counted one
// by one afterwards, as before (countCopyTx): they are rare, the intake answers most copies
// from memory.
//
// The statements run through database/sql, prepared once per shape (prepared.go). A feature
// that writes more rows with each claimed notification adds one multi-row statement to
// insertNew, keyed by the notification ids it returns, and the same rows to claimPipeSQL
// (claimpipe.go), PostgreSQL's one-round-trip path for a batch of new keys.
type claimBatch struct {
	s      *Store
	ctx    context.Context
	gtx    *gorm.DB // for the per-copy statements
	tx     *sql.Tx
	window time.Duration
	ns     []*registry.Notification
	out    []NotificationClaim

	fresh   []int    // indexes of the notifications that claim a new key, in batch order
	later   []int    // indexes of the copies of a key already claimed, in batch order
	expired []string // keys whose expired claim is deleted first
}

// keyState is what the database holds for a key when the batch begins.
type keyState struct {
	claimID, claimExpires int64 // claimID 0: no claim
	refused               bool
	status                int
	body                  []byte
	refusedExpires        int64
}

func (s *Store) claimBatchTx(ctx context.Context, gtx *gorm.DB, ns []*registry.Notification, window time.Duration) ([]NotificationClaim, error) {
	tx, err := sqlTx(gtx)
	if err != nil {
		return nil, err
	}
	b := &claimBatch{s: s, ctx: ctx, gtx: gtx, tx: tx, window: window, ns: ns, out: make([]NotificationClaim, len(ns))}
	if err := b.classify(); err != nil {
		return nil, err
	}
	if err := b.insertNew(); err != nil {
		return nil, err
	}
	for _, i := range b.later {
		n := b.ns[i]
		found, _, err := countCopyTx(gtx, n.DedupKey, n.BodyHash, n.Source, ms(n.ReceivedAt), &b.out[i])
		if err == nil && !found {
			err = fmt.Errorf("claim of %q vanished within its batch", n.DedupKey)
		}
		if err != nil {
			return nil, err
		}
	}
	return b.out, nil
}

// classify reads the batch's keys and sorts the notifications into fresh claims, copies of a
// claimed key (later) and refused keys (answered here), in batch order, each against its own
// arrival time as ClaimNotification decides it.
func (b *claimBatch) classify() error {
	states, err := b.lookKeys()
	if err != nil {
		return err
	}
	claimedHere := make(map[string]bool, len(b.ns))
	for i, n := range b.ns {
		st, now := states[n.DedupKey], ms(n.ReceivedAt)
		switch {
		case claimedHere[n.DedupKey] || (st.claimID != 0 && st.claimExpires > now):
			b.later = append(b.later, i)
			continue
		case st.claimID != 0:
			b.expired = append(b.expired, n.DedupKey) // an expired claim goes, refused or not
			st.claimID = 0
			states[n.DedupKey] = st
		}
		if st.refused && st.refusedExpires > now {
			b.out[i] = refusedClaim(n.DedupKey, st.status, st.body, st.refusedExpires)
			continue
		}
		claimedHere[n.DedupKey] = true
		b.fresh = append(b.fresh, i)
	}
	if len(b.expired) == 0 {
		return nil
	}
	return b.s.w.stmts.exec(b.ctx, b.tx, inList("DELETE FROM notification_claims WHERE dedup_key IN (", len(b.expired), ")"),
		anySlice(b.expired)...)
}

// lookKeys reads the claim and the refusal of every key of the batch, live or not, in one
// statement.
func (b *claimBatch) lookKeys() (map[string]keyState, error) {
	keys := make([]any, 0, len(b.ns))
	seen := make(map[string]bool, len(b.ns))
	for _, n := range b.ns {
		if !seen[n.DedupKey] {
			seen[n.DedupKey] = true
			keys = append(keys, n.DedupKey)
		}
	}
	in := inList("", len(keys), "")
	q := `SELECT 0, dedup_key, notification_id, expires_at, 0, NULL FROM notification_claims WHERE dedup_key IN (` + in + `)
		UNION ALL SELECT 1, dedup_key, 0, expires_at, response_status, response_body FROM notification_refusals WHERE dedup_key IN (` + in + `)`
	rows, err := b.s.w.stmts.query(b.ctx, b.tx, q, append(keys, keys...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	states := make(map[string]keyState, len(keys))
	for rows.Next() {
		var kind, id, expires int64
		var key string
		var status sql.NullInt64
		var body []byte
		if err := rows.Scan(&kind, &key, &id, &expires, &status, &body); err != nil {
			return nil, err
		}
		st := states[key]
		if kind == 0 {
			st.claimID, st.claimExpires = id, expires
		} else {
			st.refused, st.status, st.body, st.refusedExpires = true, int(status.Int64), body, expires
		}
		states[key] = st
	}
	return states, rows.Err()
}

// insertNew inserts the fresh claims' notifications, claims, first copies and events, one
// multi-row statement per table, and fills their outcomes.
func (b *claimBatch) insertNew() error {
	if len(b.fresh) == 0 {
		return nil
	}
	rows := make([]notificationRow, len(b.fresh))
	args := make([]any, 0, len(b.fresh)*9)
	for j, i := range b.fresh {
		rows[j] = toNotificationRow(b.ns[i])
		r := &rows[j]
		r.Copies, r.Diverged = 1, false
		args = append(args, r.DedupKey, r.MinerID, r.Event, r.ICTimestamp, r.Data, r.BodyHash, r.ReceivedAt, r.ResponseStatus, r.ResponseBody)
	}
	ids, err := b.returnKeys(batchSQL(insertNotifications, len(rows)), args)
	if err != nil {
		return err
	}
	for j := range rows {
		if rows[j].ID = ids[rows[j].DedupKey]; rows[j].ID == 0 {
			return fmt.Errorf("insert of notification %q returned no id", rows[j].DedupKey)
		}
	}
	if err := b.insertClaims(rows); err != nil {
		return err
	}
	if err := b.insertFirstCopies(rows); err != nil {
		return err
	}
	return b.insertEvents(rows)
}

// returnKeys runs an INSERT … RETURNING id, key and maps each returned key to its id.
func (b *claimBatch) returnKeys(q string, args []any) (map[string]int64, error) {
	rs, err := b.s.w.stmts.query(b.ctx, b.tx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := make(map[string]int64, len(b.fresh))
	for rs.Next() {
		var id int64
		var key string
		if err := rs.Scan(&id, &key); err != nil {
			return nil, err
		}
		out[key] = id
	}
	return out, rs.Err()
}

// insertClaims claims the fresh keys; a key another writer claimed since lookKeys is not
// returned, and the whole transaction runs again (errClaimRaced), then counting the copy on it.
func (b *claimBatch) insertClaims(rows []notificationRow) error {
	args := make([]any, 0, len(rows)*3)
	for _, r := range rows {
		args = append(args, r.DedupKey, r.ID, r.ReceivedAt+b.window.Milliseconds())
	}
	got, err := b.returnKeys(batchSQL(insertClaims, len(rows)), args)
	if err != nil {
		return err
	}
	if len(got) != len(rows) {
		return errClaimRaced
	}
	return nil
}

func (b *claimBatch) insertFirstCopies(rows []notificationRow) error {
	args := make([]any, 0, len(rows)*4)
	for j, r := range rows {
		source := canonicalAddr(b.ns[b.fresh[j]].Source)
		args = append(args, r.ID, registry.AddrFamily(source), source, r.BodyHash)
	}
	return b.s.w.stmts.exec(b.ctx, b.tx, batchSQL(insertFirstCopies, len(rows)), args...)
}

// insertEvents appends the fresh notifications' events to the event log, in batch order (their
// ids ascend with it), and fills the outcomes.
func (b *claimBatch) insertEvents(rows []notificationRow) error {
	evs := make([]eventRow, len(rows))
	args := make([]any, 0, len(rows)*6)
	for j := range rows {
		stored := rows[j].toNotification()
		e := stored.AsEvent()
		evs[j] = b.s.eventRowOf(registry.Event{Event: e.Event, Data: e.Data, Timestamp: e.Timestamp, MinerID: e.MinerID, NotificationID: stored.ID})
		r := &evs[j]
		args = append(args, r.Event, r.Data, r.Timestamp, r.MinerID, r.NotificationID, r.LoggedAt)
	}
	rs, err := b.s.w.stmts.query(b.ctx, b.tx, batchSQL(insertEvents, len(rows)), args...)
	if err != nil {
		return err
	}
	defer rs.Close()
	ids := make(map[int64]int64, len(rows))
	for rs.Next() {
		var id, nid int64
		if err := rs.Scan(&id, &nid); err != nil {
			return err
		}
		ids[nid] = id
	}
	if err := rs.Err(); err != nil {
		return err
	}
	for j := range rows {
		evs[j].ID = ids[rows[j].ID]
		if evs[j].ID == 0 {
			return errors.New("insert of events returned no id")
		}
		b.out[b.fresh[j]] = NotificationClaim{Notification: rows[j].toNotification(),
			ExpiresAt: fromMs(rows[j].ReceivedAt + b.window.Milliseconds()), Claimed: true, Event: b.s.toEvent(&evs[j])}
	}
	return nil
}

// A multi-row statement: head, then row repeated once per row (comma-separated), then tail.
type multiRow struct{ head, row, tail string }

var (
	insertNotifications = &multiRow{`INSERT INTO notifications (dedup_key, miner_id, event, ic_timestamp, data, body_hash,
		received_at, copies, diverged, response_status, response_body) VALUES `, `(?, ?, ?, ?, ?, ?, ?, 1, false, ?, ?)`,
		` RETURNING id, dedup_key`}
	insertClaims = &multiRow{`INSERT INTO notification_claims (dedup_key, notification_id, expires_at) VALUES `,
		`(?, ?, ?)`, ` ON CONFLICT (dedup_key) DO NOTHING RETURNING notification_id, dedup_key`}
	insertFirstCopies = &multiRow{`INSERT INTO notification_copies (notification_id, seq, family, source, offset_ms, body_hash) VALUES `,
		`(?, 0, ?, ?, 0, ?)`, ``}
	insertEvents = &multiRow{`INSERT INTO events (event, data, timestamp, miner_id, notification_id, logged_at) VALUES `,
		`(?, ?, ?, ?, ?, ?)`, ` RETURNING id, notification_id`}
)

// text is the statement for n rows.
func (m *multiRow) text(n int) string {
	return m.head + strings.TrimSuffix(strings.Repeat(m.row+", ", n), ", ") + m.tail
}

// batchTexts caches each statement's text by row count, so that the text, like the prepared
// statement it keys, is built once.
var batchTexts sync.Map // batchKey → string

type batchKey struct {
	m *multiRow
	n int
}

func batchSQL(m *multiRow, n int) string {
	if s, ok := batchTexts.Load(batchKey{m, n}); ok {
		return s.(string)
	}
	s := m.text(n)
	batchTexts.Store(batchKey{m, n}, s)
	return s
}

// inList is head, n comma-separated placeholders, tail.
func inList(head string, n int, tail string) string {
	return head + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + tail
}

func anySlice[T any](v []T) []any {
	out := make([]any, len(v))
	for i := range v {
		out[i] = v[i]
	}
	return out
}
