package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"canistry/pkg/registry"
)

// PostgreSQL writes the common batch of claims in one round trip (issue 26): every key of the
// batch distinct and never seen (no claim and no refusal of it, live or expired). One pgx
// pipeline on the writer connection, with no BEGIN, so that its statements run as one implicit
// transaction that the server commits at the pipeline's Sync (or rolls back whole, on an
// error; PostgreSQL protocol docs, "Pipelining"):
//
//  1. SELECT set_config('lock_timeout', …, true), when ctx has a deadline: the waits for the
//     write lock and the tables' locks end with it, as the general path's statements end with ctx;
//  2. the write lock (dialect.writeLock), as in every write transaction (postgres.go);
//  3. claimPipeSQL, one statement whose data-modifying CTEs look for the keys' claims and
//     refusals and, when there is none, insert the notifications, their claims, their first
//     copies and their events (ids ascending in batch order), returning the new ids.
//
// Statement 3 runs after the lock is held, in a snapshot taken after it, as the general path's
// read of the keys does. When it finds a key already seen it inserts nothing, the empty
// transaction commits (its statement triggers still bump data_version: read caches miss once
// more), and the batch takes the general path (claimBatchTx, in s.write), which
// decides copies, refusals and expired claims; so does a batch with a key twice, and any error
// of the pipeline (nothing of it was committed). The claims' INSERT has no ON CONFLICT: a claim
// that another writer made regardless is a unique violation, rolling the whole pipeline back.
//
// The pipeline runs without ctx's cancellation once sent, as s.write's COMMIT does: a deadline
// must not cut the connection after the Sync, leaving a committed claim answered as an error.
// Its waits are bounded by lock_timeout (above) and statement_timeout instead.

const setLockTimeout = "SELECT set_config('lock_timeout', $1, true)"

// genericPlan has claimPipeSQL planned once per connection (its generic plan, cached with the
// prepared statement) instead of again on each of its first executions, PostgreSQL's default
// for a statement with parameters ("plan_cache_mode"); it holds for the pipeline's transaction.
const genericPlan = "SELECT set_config('plan_cache_mode', 'force_generic_plan', true)"

// claimPipeSQL's parameters: the batch's columns as arrays, in batch order (pipeBatch.args).
const claimPipeSQL = `WITH input AS (
	SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::bigint[],
		$8::bigint[], $9::bytea[], $10::bigint[], $11::text[], $12::text[],
		$13::text[], $14::text[], $15::bigint[], $16::text[], $17::bigint[])
	WITH ORDINALITY AS i(dedup_key, miner_id, event, ic_timestamp, data, body_hash, received_at,
		response_status, response_body, expires_at, family, source,
		ev_event, ev_data, ev_timestamp, ev_miner_id, ev_logged_at, ord)
), seen AS (
	SELECT EXISTS (SELECT 1 FROM notification_claims WHERE dedup_key = ANY ($1::text[]))
		OR EXISTS (SELECT 1 FROM notification_refusals WHERE dedup_key = ANY ($1::text[])) AS any_seen
), n AS (
	INSERT INTO notifications (dedup_key, miner_id, event, ic_timestamp, data, body_hash, received_at, copies, diverged,
		response_status, response_body)
	SELECT dedup_key, miner_id, event, ic_timestamp, data, body_hash, received_at, 1, false, response_status, response_body
	FROM input WHERE NOT (SELECT any_seen FROM seen) ORDER BY ord
	RETURNING id, dedup_key
), c AS (
	INSERT INTO notification_claims (dedup_key, notification_id, expires_at)
	SELECT n.dedup_key, n.id, i.expires_at FROM n JOIN input i USING (dedup_key)
), f AS (
	INSERT INTO notification_copies (notification_id, seq, family, source, offset_ms, body_hash)
	SELECT n.id, 0, i.family, i.source, 0, i.body_hash FROM n JOIN input i USING (dedup_key)
), e AS (
	INSERT INTO events (event, data, timestamp, miner_id, notification_id, logged_at)
	SELECT i.ev_event, i.ev_data, i.ev_timestamp, i.ev_miner_id, n.id, i.ev_logged_at
	FROM n JOIN input i USING (dedup_key) ORDER BY i.ord
	RETURNING id, notification_id
)
SELECT n.dedup_key, n.id, e.id FROM n JOIN e ON e.notification_id = n.id`

// pipeBatch is one batch on its way through the pipeline.
type pipeBatch struct {
	s      *Store
	window time.Duration
	rows   []notificationRow
	events []eventRow
	copies []CopyRecord // the first copies' source and hash
}

// claimPipelined claims ns in one round trip when it can (see above). ok false: nothing was
// written, and the caller claims ns on the general path.
func (s *Store) claimPipelined(ctx context.Context, ns []*registry.Notification, window time.Duration) (out []NotificationClaim, ok bool, err error) {
	if s.noPipeline || len(ns) == 0 || !distinctKeys(ns) || ctx.Err() != nil {
		return nil, false, nil
	}
	b := s.newPipeBatch(ns, window)
	err = s.onWriterPgx(ctx, func(c *pgx.Conn) error {
		out, err = b.run(ctx, c)
		return err
	})
	var partial *errPartialPipe
	switch {
	case errors.As(err, &partial):
		return nil, true, err // committed, but not as it should have been: no retry
	case err != nil || out == nil:
		return nil, false, nil
	}
	s.storage.note(nil)
	return out, true, nil
}

// onWriterPgx runs fn on the writer connection's pgx.Conn, held as a write holds it. It fails
// when that connection is not pgx's in its default query exec mode (pgx's default, which
// prepares every statement anyway): a DSN that asked for another mode (default_query_exec_mode,
// e.g. for a pooler) is respected, and claims take the general path.
func (s *Store) onWriterPgx(ctx context.Context, fn func(*pgx.Conn) error) error {
	release, err := s.w.hold(ctx) // in-process writes wait here
	if err != nil {
		return err
	}
	defer release()
	sqlDB, err := s.w.db.DB()
	if err != nil {
		return err
	}
	conn, err := sqlDB.Conn(ctx) // the one writer connection
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	return conn.Raw(func(dc any) error {
		c, isPgx := dc.(*stdlib.Conn)
		if !isPgx {
			return fmt.Errorf("store: the writer connection is a %T", dc)
		}
		if mode := c.Conn().Config().DefaultQueryExecMode; mode != pgx.QueryExecModeCacheStatement {
			return fmt.Errorf("store: query exec mode %v", mode)
		}
		return fn(c.Conn())
	})
}

// PrepareClaims prepares the claim pipeline's statements on the writer connection, so that
// the first batch of claims after a start does not wait for their parse (the largest part of
// its time: about 8 ms against 1-2 ms for a warm batch, on a fresh PostgreSQL backend). The
// intake calls it when it starts (notify.New); the api and the poller, which never claim, do
// not. A failure is not an error: the first batch prepares them, as it would anyway. It does
// nothing on SQLite.
func (s *Store) PrepareClaims(ctx context.Context) {
	if !s.d.pipelinedClaims || s.noPipeline {
		return
	}
	_ = s.onWriterPgx(ctx, func(c *pgx.Conn) error {
		if err := prepareAll(ctx, c, pipeStatements(s.d.writeLock)...); err != nil {
			return err
		}
		tx, err := c.Begin(ctx)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback(ctx) }()
		if _, err := tx.Exec(ctx, genericPlan); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, claimPipeSQL, s.newPipeBatch(nil, 0).args()...)
		return err
	})
}

// pipeStatements are the statements of a claim pipeline (run), lock_timeout's included.
func pipeStatements(writeLock string) []string {
	return []string{genericPlan, setLockTimeout, writeLock, claimPipeSQL}
}

// prepareAll prepares each statement on c, named by its text as pgx's statement cache would;
// one already prepared costs no round trip.
func prepareAll(ctx context.Context, c *pgx.Conn, stmts ...string) error {
	for _, q := range stmts {
		if _, err := c.Prepare(ctx, q, q); err != nil {
			return err
		}
	}
	return nil
}

func distinctKeys(ns []*registry.Notification) bool {
	seen := make(map[string]struct{}, len(ns))
	for _, n := range ns {
		if _, dup := seen[n.DedupKey]; dup {
			return false
		}
		seen[n.DedupKey] = struct{}{}
	}
	return true
}

// lockTimeout is ctx's remaining time as a lock_timeout setting (whole milliseconds, at least
// 1), or "" when ctx has no deadline.
func lockTimeout(ctx context.Context) string {
	d, ok := ctx.Deadline()
	if !ok {
		return ""
	}
	return strconv.FormatInt(max(time.Until(d).Milliseconds(), 1), 10)
}

func (s *Store) newPipeBatch(ns []*registry.Notification, window time.Duration) *pipeBatch {
	b := &pipeBatch{s: s, window: window, rows: make([]notificationRow, len(ns)), events: make([]eventRow, len(ns)),
		copies: make([]CopyRecord, len(ns))}
	for j, n := range ns {
		r := toNotificationRow(n)
		r.Copies, r.Diverged = 1, false
		b.rows[j] = r
		stored := r.toNotification()
		e := stored.AsEvent()
		b.events[j] = s.eventRowOf(registry.Event{Event: e.Event, Data: e.Data, Timestamp: e.Timestamp, MinerID: e.MinerID})
		b.copies[j] = CopyRecord{Source: canonicalAddr(n.Source), BodyHash: r.BodyHash}
	}
	return b
}

// args are claimPipeSQL's parameters.
func (b *pipeBatch) args() []any {
	n := len(b.rows)
	keys, miners, evs, data, hashes := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	icts, received, statuses, expires := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	bodies := make([][]byte, n)
	families, sources, evEvents, evData, evMiners := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	evTimes, logged := make([]int64, n), make([]int64, n)
	for j := range b.rows {
		r, e := &b.rows[j], &b.events[j]
		keys[j], miners[j], evs[j], icts[j], data[j], hashes[j], received[j] = r.DedupKey, r.MinerID, r.Event, r.ICTimestamp, r.Data, r.BodyHash, r.ReceivedAt
		statuses[j], bodies[j], expires[j] = int64(r.ResponseStatus), r.ResponseBody, r.ReceivedAt+b.window.Milliseconds()
		families[j], sources[j] = registry.AddrFamily(b.copies[j].Source), b.copies[j].Source
		evEvents[j], evData[j], evTimes[j], evMiners[j], logged[j] = e.Event, e.Data, e.Timestamp, e.MinerID, e.LoggedAt
	}
	return []any{keys, miners, evs, icts, data, hashes, received, statuses, bodies, expires, families, sources,
		evEvents, evData, evTimes, evMiners, logged}
}

// errPartialPipe: the pipeline committed a batch but did not return every id of it, which
// claimPipeSQL cannot do; the batch is neither answered nor written again.
type errPartialPipe struct{ got, want int }

func (e *errPartialPipe) Error() string {
	return fmt.Sprintf("store: the pipelined claim returned %d of %d ids", e.got, e.want)
}

// run sends the pipeline and reads its results: the claims, or nil when a key was seen before
// (nothing written). The statements are prepared first (once per connection), under ctx: the
// parse of claimPipeSQL waits for the tables' locks, before lock_timeout is set.
func (b *pipeBatch) run(ctx context.Context, conn *pgx.Conn) ([]NotificationClaim, error) {
	batch := &pgx.Batch{}
	batch.Queue(genericPlan)
	if lt := lockTimeout(ctx); lt != "" {
		batch.Queue(setLockTimeout, lt)
	}
	batch.Queue(b.s.d.writeLock)
	batch.Queue(claimPipeSQL, b.args()...)
	if err := prepareAll(ctx, conn, pipeStatements(b.s.d.writeLock)...); err != nil {
		return nil, err
	}
	br := conn.SendBatch(context.WithoutCancel(ctx), batch)
	ids, err := readPipe(br, batch.Len()-1)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	switch {
	case err != nil:
		return nil, err
	case len(ids) == 0:
		return nil, nil
	case len(ids) != len(b.rows):
		return nil, &errPartialPipe{got: len(ids), want: len(b.rows)}
	}
	return b.claims(ids)
}

// pipeIDs are the ids the pipeline gave one notification.
type pipeIDs struct{ notification, event int64 }

// readPipe skips the results of the first skip statements and reads the last one's rows.
func readPipe(br pgx.BatchResults, skip int) (map[string]pipeIDs, error) {
	for range skip {
		if _, err := br.Exec(); err != nil {
			return nil, err
		}
	}
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ids := map[string]pipeIDs{}
	for rows.Next() {
		var key string
		var id pipeIDs
		if err := rows.Scan(&key, &id.notification, &id.event); err != nil {
			return nil, err
		}
		ids[key] = id
	}
	return ids, rows.Err()
}

// claims are the batch's outcomes, as claimBatch.insertEvents fills them.
func (b *pipeBatch) claims(ids map[string]pipeIDs) ([]NotificationClaim, error) {
	out := make([]NotificationClaim, len(b.rows))
	for j := range b.rows {
		r, e := &b.rows[j], &b.events[j]
		id, ok := ids[r.DedupKey]
		if !ok {
			return nil, &errPartialPipe{got: len(ids), want: len(b.rows)}
		}
		r.ID, e.ID = id.notification, id.event
		nid := id.notification
		e.NotificationID = &nid
		out[j] = NotificationClaim{Notification: r.toNotification(), ExpiresAt: fromMs(r.ReceivedAt + b.window.Milliseconds()),
			Claimed: true, Event: b.s.toEvent(e)}
	}
	return out, nil
}
