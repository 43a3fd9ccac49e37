// Package storetest holds the database's write lock from outside a Store, as another process
// or an operator's session would, for tests of what writers do while it is held.
package storetest

import (
	"context"
	"database/sql"
	"testing"

	_ "github.com/glebarez/go-sqlite"  // the "sqlite" database/sql driver
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"canistry/pkg/store"
)

// HoldWriteLock takes the write lock of the database at target (a SQLite file or a postgres://
// URL) on a connection of its own and holds it until release is called (or the test ends):
// on SQLite `BEGIN IMMEDIATE`, as `sqlite3 registry.db` would; on PostgreSQL an open
// transaction holding `LOCK TABLE notifications IN ACCESS EXCLUSIVE MODE`, which blocks every
// claim's insert and every read of the table. Nothing is written; release rolls back.
func HoldWriteLock(tb testing.TB, target string) (release func()) {
	tb.Helper()
	driver, dsn, lock := "sqlite", target+"?_pragma=busy_timeout(10000)", "BEGIN IMMEDIATE"
	if store.IsPostgresURL(target) {
		driver, dsn, lock = "pgx", target, "BEGIN; LOCK TABLE notifications IN ACCESS EXCLUSIVE MODE"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		_ = db.Close()
		tb.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, lock); err != nil {
		_ = conn.Close()
		_ = db.Close()
		tb.Fatalf("take the write lock: %v", err)
	}
	done := false
	release = func() {
		if done {
			return
		}
		done = true
		_, err := conn.ExecContext(ctx, "ROLLBACK")
		_ = conn.Close()
		_ = db.Close()
		if err != nil {
			tb.Errorf("release the write lock: %v", err)
		}
	}
	tb.Cleanup(release)
	return release
}
