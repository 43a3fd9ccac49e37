package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// versionProbe answers PRAGMA data_version on one dedicated connection. SQLite changes that
// value, as seen from a connection, whenever any other connection commits — this process's
// writer or another process's — so it is an exact, cheap "has anything changed?" signal.
type versionProbe struct {
	mu   sync.Mutex
	db   *sql.DB
	stmt *sql.Stmt
}

func openVersionProbe(ctx context.Context, path string) (*versionProbe, error) {
	db, err := openPool(path, true, 1)
	if err != nil {
		return nil, err
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	stmt, err := sqlDB.PrepareContext(ctx, "PRAGMA data_version")
	if err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("prepare data_version: %w", translate(err))
	}
	return &versionProbe{db: sqlDB, stmt: stmt}, nil
}

func (v *versionProbe) close() error {
	_ = v.stmt.Close()
	return v.db.Close()
}

// DataVersion returns a number that differs from the previous call's whenever any connection
// — in this process or another — committed to the database in between. Read caches key on it.
//
// On PostgreSQL it is the data_version row, which a statement trigger on every table bumps
// once in each transaction that writes (migration 0001, ensureVersionTriggers): it commits
// with the change, so it is exact — unlike pg_stat_database.xact_commit, which counts every
// transaction of every client (reads too) and is reported late, by the statistics collector.
func (s *Store) DataVersion(ctx context.Context) (int64, error) {
	n, err := s.d.dataVersion(ctx, s)
	if err != nil {
		return 0, fmt.Errorf("data version: %w", translate(err))
	}
	return n, nil
}

func sqliteDataVersion(ctx context.Context, s *Store) (int64, error) {
	s.version.mu.Lock()
	defer s.version.mu.Unlock()
	var n int64
	err := s.version.stmt.QueryRowContext(ctx).Scan(&n)
	return n, err
}

func pgDataVersion(ctx context.Context, s *Store) (int64, error) {
	var n int64
	err := one(s.read(ctx).Raw("SELECT v FROM data_version WHERE id = 1")).Scan(&n)
	return n, err
}
