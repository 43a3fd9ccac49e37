package store

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"canistry/pkg/config"
)

// PostgreSQL backend. Open switches to it for a postgres:// or postgresql:// URL
// (DATABASE_URL). The public API and its results are the same as on SQLite; the SQL that
// differs is in the dialect (dialect.go). What behaves differently:
//
//   - Every write transaction first takes one transaction-scoped advisory lock (writeLockKey),
//     so writes serialise across every process and host as they do on SQLite's write lock.
//     That keeps the event log's ids committing in id order (a tailer never sees a late id),
//     and makes the migration step safe when several processes start at once. The dedup claim
//     is still decided by the unique key (INSERT … ON CONFLICT DO NOTHING), not by the lock.
//     The one exception is the mining follower's (dialect.followerApart, mining_sync.go): it
//     writes only its own tables, and serialises with other followers on its positions' rows.
//   - Serialization failures, deadlocks and lost connections are retried inside write with
//     backoff, like SQLITE_BUSY; a statement timeout is EUNAVAILABLE.
//   - DataVersion reads a counter that a trigger on every table bumps once per writing
//     transaction (see ensureVersionTriggers): exact, as PRAGMA data_version is.

// writeLockKey is the advisory lock every write transaction holds: "canistry" in ASCII.
const writeLockKey int64 = 0x63616e6973747279

// Defaults of the PostgreSQL pool (DATABASE_MAX_CONNS, DATABASE_STATEMENT_TIMEOUT).
const (
	DefaultMaxConns         = 10
	DefaultStatementTimeout = 30 * time.Second
)

// WithMaxConns bounds the PostgreSQL read pool (DATABASE_MAX_CONNS); writes use one more
// connection, since they serialise on the write lock anyway, and the mining follower one more,
// dialled at its first sync (only the notifier syncs). SQLite ignores it.
func WithMaxConns(n int) Option { return func(s *Store) { s.maxConns = n } }

// WithStatementTimeout sets PostgreSQL's statement_timeout on every connection
// (DATABASE_STATEMENT_TIMEOUT); 0 keeps the server's. A statement cut off by it is
// EUNAVAILABLE. SQLite ignores it.
func WithStatementTimeout(d time.Duration) Option { return func(s *Store) { s.stmtTimeout = d } }

// IsPostgresURL reports whether target names a PostgreSQL database rather than a SQLite file.
func IsPostgresURL(target string) bool {
	return strings.HasPrefix(target, "postgres://") || strings.HasPrefix(target, "postgresql://")
}

// RedactURL returns a database URL with its password (in the user part or a password query
// parameter) replaced, for logs and status: config.RedactURL, the one redaction of every URL.
func RedactURL(target string) string { return config.RedactURL(target) }

func (s *Store) openPostgres(target string) error {
	if s.maxConns <= 0 {
		s.maxConns = DefaultMaxConns
	}
	wdb, err := openPGPool(target, nil, false, 1, s.stmtTimeout, s.writerDial)
	if err != nil {
		return err
	}
	if s.w, err = newWriteConn(wdb, s.d.dollarParams, s.d.writeLock); err != nil {
		return err
	}
	// The mining follower's connection (mining_sync.go): database/sql dials it at the first
	// sync, so the api and the poller, which never sync, never open it.
	fdb, err := openPGPool(target, pgFollower, true, 1, s.stmtTimeout, nil)
	if err != nil {
		return err
	}
	if s.fw, err = newWriteConn(fdb, s.d.dollarParams, ""); err != nil {
		return err
	}
	s.rdb, err = openPGPool(target, pgReadOnly, false, s.maxConns, s.stmtTimeout, s.readerDial)
	return err
}

// Runtime parameters of the pools that differ from the writer's (openPGPool).
var (
	// The read pool is read-only, as SQLite's query_only one is.
	pgReadOnly = map[string]string{"default_transaction_read_only": "on"}
	// The mining follower's commits do not wait for their WAL to reach the disk (asynchronous
	// commit, https://www.postgresql.org/docs/current/wal-async-commit.html): what it writes is
	// derived from stored outcalls and refreshes, and a commit lost in a server crash is lost
	// whole, its position with its rows, so the follower applies that batch again, still once.
	// Its transactions then add no WAL flush of their own to the intake's.
	pgFollower = map[string]string{"synchronous_commit": "off"}
)

// openPGPool opens a pool on target. Runtime parameters go in the URL, where pgx passes
// unknown query parameters on to the server: settings (nil for none) are added to the
// statement timeout and application name every pool has. wrap, when set, wraps each
// connection the pool dials (tests count round trips with it).
//
// lazy skips the connection gorm opens to ping the server: the pool dials at its first use.
func openPGPool(target string, settings map[string]string, lazy bool, conns int, timeout time.Duration, wrap func(net.Conn) net.Conn) (*gorm.DB, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("parse DATABASE_URL: %w", err)
	}
	q := u.Query()
	if timeout > 0 && q.Get("statement_timeout") == "" {
		q.Set("statement_timeout", strconv.FormatInt(timeout.Milliseconds(), 10))
	}
	if q.Get("application_name") == "" {
		q.Set("application_name", "canistry")
	}
	for k, v := range settings {
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	db, err := gorm.Open(postgres.New(postgres.Config{DSN: u.String(), OptionOpenDB: wrapDial(wrap)}), &gorm.Config{
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true,
		TranslateError:         true,
		NowFunc:                func() time.Time { return time.Now().UTC() },
		DisableAutomaticPing:   lazy,
		// pgx caches prepared statements per connection itself.
	})
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", RedactURL(target), translate(err))
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", RedactURL(target), err)
	}
	sqlDB.SetMaxOpenConns(conns)
	sqlDB.SetMaxIdleConns(conns)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	return db, nil
}

// wrapDial is the pool option that wraps each connection the pool dials in wrap.
func wrapDial(wrap func(net.Conn) net.Conn) []stdlib.OptionOpenDB {
	if wrap == nil {
		return nil
	}
	return []stdlib.OptionOpenDB{stdlib.OptionBeforeConnect(func(_ context.Context, cfg *pgx.ConnConfig) error {
		dial := cfg.DialFunc
		cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return wrap(c), nil
		}
		return nil
	})}
}

// followerTables are the tables only the mining follower writes (mining_sync.go, mining_agg.go).
// Their trigger bumps data_version's row 2 and every other table's row 1 (migration 0018), so
// that the follower, which writes apart from the write lock (dialect.followerApart), never waits
// for the row every other write transaction locks until it commits, nor holds it.
var followerTables = map[string]bool{"solutions": true, "mining_minutes": true, "mining_token_hours": true,
	"mining_hours": true, "mining_miner_days": true, "mining_positions": true}

// ensureVersionTriggers gives every table of the schema the statement trigger that bumps
// data_version (migration 0001 creates the table and the function), so a table added by a
// later migration is covered without each migration remembering to. The function bumps the
// counter once per transaction (a transaction-local setting remembers that it did).
func ensureVersionTriggers(tx *gorm.DB) error {
	tables, err := queryList(tx, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema() AND c.relname <> 'data_version'
		AND NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = 'canistry_data_version')
		ORDER BY c.relname`, nil, scanValue[string])
	if err != nil {
		return err
	}
	for _, t := range tables {
		row := "1"
		if followerTables[t] {
			row = "2"
		}
		q := fmt.Sprintf(`CREATE TRIGGER canistry_data_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %s
			FOR EACH STATEMENT EXECUTE FUNCTION canistry_bump_data_version('%s')`, quoteIdent(t), row)
		if err := tx.Exec(q).Error; err != nil {
			return fmt.Errorf("data version trigger on %s: %w", t, err)
		}
	}
	return nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// pgSizeBytes is the size of the database.
func pgSizeBytes(s *Store) int64 {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var n int64
	if err := s.readOne(ctx, "SELECT pg_database_size(current_database())").Scan(&n); err != nil {
		return 0
	}
	return n
}

// Reachable connects to the PostgreSQL database at target and runs one query, without creating
// or migrating anything: check-config's look at DATABASE_URL. Errors name the URL redacted.
func Reachable(ctx context.Context, target string) error {
	conn, err := pgx.Connect(ctx, target)
	if err != nil {
		return fmt.Errorf("connect %s: %w", RedactURL(target), err)
	}
	defer func() { _ = conn.Close(context.Background()) }()
	if err := conn.Ping(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", RedactURL(target), err)
	}
	return nil
}
