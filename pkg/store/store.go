package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Store is the database. It is safe for concurrent use.
type Store struct {
	path string     // the SQLite file, or the PostgreSQL URL
	d    dialect    // what the backend does differently
	rdb  *gorm.DB   // read pool, query_only
	w    *writeConn // the single writer connection: every write transaction but the follower's on PostgreSQL
	// fw is the mining follower's writer (SyncMining): w on SQLite, which has one writer; on
	// PostgreSQL a connection of its own whose transactions skip the write lock (dialect.followerApart).
	fw *writeConn

	readStmts *stmtCache // readOne's statements on rdb
	now       func() time.Time

	version *versionProbe
	epoch   string // the event log's epoch (loadEpoch)

	storage storageHealth // the last write's lack of storage, for Ping (readiness)

	maxConns    int           // PostgreSQL read pool size (WithMaxConns)
	stmtTimeout time.Duration // PostgreSQL statement_timeout (WithStatementTimeout)

	noPipeline bool                    // tests: PostgreSQL claims take the general path
	writerDial func(net.Conn) net.Conn // tests: wraps the PostgreSQL writer's connections
	readerDial func(net.Conn) net.Conn // tests: wraps the PostgreSQL read pool's connections
}

// Option configures Open.
type Option func(*Store)

// WithClock sets the clock used for timestamps written by the store (tests).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// Open opens (creating if needed) the database at path and applies pending migrations. It is
// safe to call from several processes at once on an empty data directory (or an empty
// PostgreSQL database). A path that is a postgres:// or postgresql:// URL opens PostgreSQL.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	s := &Store{path: path, now: time.Now, d: dialectFor(path), stmtTimeout: DefaultStatementTimeout}
	for _, o := range opts {
		o(s)
	}
	if err := s.d.open(ctx, s); err != nil {
		s.closePools()
		return nil, err
	}
	var err error
	if s.readStmts, err = newStmtCache(s.rdb, s.d.dollarParams); err != nil {
		s.closePools()
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		s.closePools()
		return nil, err
	}
	if err := s.loadEpoch(ctx); err != nil {
		s.closePools()
		return nil, err
	}
	return s, nil
}

func (s *Store) openSQLite(ctx context.Context, path string) error {
	if err := createPrivate(path); err != nil {
		return err
	}
	wdb, err := openPoolRetry(ctx, path, false, 1)
	if err != nil {
		return err
	}
	if s.w, err = newWriteConn(wdb, s.d.dollarParams, s.d.writeLock); err != nil {
		return err
	}
	s.fw = s.w
	if s.rdb, err = openPoolRetry(ctx, path, true, 8); err != nil {
		return err
	}
	s.version, err = openVersionProbe(ctx, path)
	return err
}

// openPoolRetry is openPool, retried with backoff while the database is busy. Opening runs the
// pragmas, and switching a new file to WAL takes a lock for which SQLite does not always call
// the busy handler: another process opening the same new file at that instant makes it fail at
// once with SQLITE_BUSY (seen with the api and the notifier starting together on a loaded
// machine). It gives up after 30 s or when ctx ends.
func openPoolRetry(ctx context.Context, path string, readOnly bool, conns int) (*gorm.DB, error) {
	delay := 10 * time.Millisecond
	deadline := time.Now().Add(30 * time.Second)
	for {
		db, err := openPool(path, readOnly, conns)
		if err == nil || !openBusy(err) || time.Now().After(deadline) {
			return db, err
		}
		if cerr := backoff(ctx, &delay); cerr != nil {
			return nil, fmt.Errorf("%w (gave up: %w)", err, cerr)
		}
	}
}

// openBusy reports whether opening failed because another connection held a lock.
func openBusy(err error) bool {
	c := sqliteCode(err)
	return c == sqliteBusy || c == sqliteLocked || strings.Contains(err.Error(), "SQLITE_BUSY") || strings.Contains(err.Error(), "database is locked")
}

// SQLiteDSN is the data source name the store opens the SQLite file at path with: its writer
// pool's, or (readOnly) its read pool's. Benchmarks that measure the engine alone open theirs
// with it, so that they run with the store's settings.
func SQLiteDSN(path string, readOnly bool) string {
	q := url.Values{}
	// Order matters: busy_timeout first, so that switching to WAL waits for other processes.
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Set("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode()
}

func openPool(path string, readOnly bool, conns int) (*gorm.DB, error) {
	db, err := gorm.Open(sqlite.Open(SQLiteDSN(path, readOnly)), &gorm.Config{
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true,
		TranslateError:         true,
		NowFunc:                func() time.Time { return time.Now().UTC() },
		// Reuse prepared statements: SQLite's parser was a fifth of a read's CPU. The cache is
		// an LRU so that ad-hoc filter combinations cannot grow it without bound.
		PrepareStmt:        true,
		PrepareStmtMaxSize: 256,
		PrepareStmtTTL:     time.Hour,
	})
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	sqlDB.SetMaxOpenConns(conns)
	sqlDB.SetMaxIdleConns(conns)
	sqlDB.SetConnMaxIdleTime(0)
	return db, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.closePools() }

func (s *Store) closePools() error {
	var errs []error
	if s.readStmts != nil {
		s.readStmts.close()
	}
	if s.version != nil {
		errs = append(errs, s.version.close())
	}
	if s.fw != nil && s.fw != s.w {
		errs = append(errs, s.fw.close())
	}
	if s.w != nil {
		errs = append(errs, s.w.close())
	}
	if s.rdb != nil {
		if sqlDB, err := s.rdb.DB(); err == nil {
			errs = append(errs, sqlDB.Close())
		}
	}
	return errors.Join(errs...)
}

// Path returns the database file path, or the PostgreSQL URL with its password redacted.
func (s *Store) Path() string { return s.d.redact(s.path) }

// Backend names the database engine: "sqlite" or "postgres".
func (s *Store) Backend() string { return s.d.name }

// SizeBytes returns the size of the database file plus its WAL (on PostgreSQL, of the
// database; 0 when that cannot be read).
func (s *Store) SizeBytes() int64 { return s.d.sizeBytes(s) }

// Ping checks that the database answers a query, and that the last write did not fail for lack
// of storage (disk full, an I/O error): reads may still work then, but the binary cannot do
// its work, so /readyz reports it until a write succeeds again.
func (s *Store) Ping(ctx context.Context) error {
	var n int
	if err := s.readOne(ctx, "SELECT 1").Scan(&n); err != nil {
		return fmt.Errorf("ping database: %w", translate(err))
	}
	return s.storage.err()
}

// read returns the read pool bound to ctx.
func (s *Store) read(ctx context.Context) *gorm.DB { return s.rdb.WithContext(ctx) }

// readSnapshot runs fn's reads in one read-only transaction on the read pool, so that they all
// see the database as one commit left it: a reply made of several queries (a mining summary's
// totals and its leaderboard) never mixes data from before and after another process's commit
// (the follower's). On SQLite a deferred transaction reads one snapshot from its first read on;
// on PostgreSQL it is REPEATABLE READ (dialect.snapshot), where READ COMMITTED gives each
// statement its own.
func (s *Store) readSnapshot(ctx context.Context, fn func(db *gorm.DB) error) error {
	return s.read(ctx).Transaction(fn, s.d.snapshot)
}

// write runs fn in an IMMEDIATE transaction on the writer connection (on PostgreSQL, one that
// first takes the write lock), retrying while the database is busy (another process holds the
// write lock beyond busy_timeout; on PostgreSQL also a serialization failure, a deadlock or a
// lost connection) until ctx ends. fn may run more than once, so it must not have side effects
// outside tx.
//
// ctx bounds the wait for the lock and every statement, never the COMMIT: the transaction is
// begun on a context without ctx's deadline (database/sql and pgx commit on the context the
// transaction began with), and fn's statements run on ctx. A deadline that ends while COMMIT
// is on the wire would otherwise leave a transaction that PostgreSQL committed reported as
// failed, and the intake would answer 503 "nothing was recorded" for a stored notification
// (issue 21 §1). An error from write therefore means the transaction was rolled back, except
// when the connection itself is lost during COMMIT, which no client can tell apart.
func (s *Store) write(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return s.writeOn(ctx, s.w, fn)
}

// writeOn is write on the writer c (s.w, or the mining follower's s.fw).
func (s *Store) writeOn(ctx context.Context, c *writeConn, fn func(tx *gorm.DB) error) error {
	delay := 5 * time.Millisecond
	locked := func(tx *gorm.DB) error {
		tx = tx.WithContext(ctx)
		if c.lock != "" {
			if err := tx.Exec(c.lock).Error; err != nil {
				return err
			}
		}
		return fn(tx)
	}
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return translate(err)
		}
		err := c.once(ctx, locked)
		if err == nil || !isBusy(err) {
			s.storage.note(err)
			return translate(err)
		}
		if ctx.Err() != nil || attempt >= 50 {
			return fmt.Errorf("database stayed busy after %d attempts: %w", attempt, translate(err))
		}
		if err := backoff(ctx, &delay); err != nil {
			return translate(err)
		}
	}
}

// backoff waits about *delay (jittered) before a retry of a busy database, then doubles it up
// to 500 ms; it returns ctx's error if ctx ends first.
func backoff(ctx context.Context, delay *time.Duration) error {
	t := time.NewTimer(jitter(*delay))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
	}
	*delay = min(*delay*2, 500*time.Millisecond)
	return nil
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMs(v int64) time.Time { return time.UnixMilli(v).UTC() }

func msPtr(t *time.Time) *int64 {
	if t == nil {
		return nil
	}
	v := t.UnixMilli()
	return &v
}

func fromMsPtr(v *int64) *time.Time {
	if v == nil {
		return nil
	}
	t := fromMs(*v)
	return &t
}
