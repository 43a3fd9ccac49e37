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
//
// Concurrent callers share probes: a caller never joins a probe already under way (it may have
// read the version before the caller's last write committed), but waits for the next one, which
// then answers every caller that arrived meanwhile. So each answer is as fresh as a probe of its
// own, and under load one PRAGMA (one read transaction) serves many requests (issue 26: the probe
// was a third of an uncached point read).
type versionProbe struct {
	db   *sql.DB
	stmt *sql.Stmt

	mu      sync.Mutex
	running bool          // a probe is under way
	next    *versionRound // the round the callers arriving now wait for; nil when none waits
}

// versionRound is one probe's answer, shared by the callers that waited for it.
type versionRound struct {
	done chan struct{}
	n    int64
	err  error
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
// On PostgreSQL it is the sum of data_version's rows, one of which a statement trigger on every
// table bumps once in each transaction that writes (migrations 0001 and 0018,
// ensureVersionTriggers): it commits with the change, so it is exact — unlike pg_stat_database.xact_commit, which counts every
// transaction of every client (reads too) and is reported late, by the statistics collector.
func (s *Store) DataVersion(ctx context.Context) (int64, error) {
	n, err := s.d.dataVersion(ctx, s)
	if err != nil {
		return 0, fmt.Errorf("data version: %w", translate(err))
	}
	return n, nil
}

func sqliteDataVersion(ctx context.Context, s *Store) (int64, error) {
	return s.version.get(ctx)
}

// get waits for a probe that starts after it was called and returns its answer.
func (v *versionProbe) get(ctx context.Context) (int64, error) {
	v.mu.Lock()
	if v.next == nil {
		v.next = &versionRound{done: make(chan struct{})}
	}
	r := v.next
	if !v.running {
		v.running = true
		v.next = nil
		v.mu.Unlock()
		v.run(context.WithoutCancel(ctx), r)
	} else {
		v.mu.Unlock()
	}
	select {
	case <-r.done:
		return r.n, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// run probes for round r, then starts the round that gathered meanwhile, if any (in a new
// goroutine, so that the caller that started r is not kept serving later rounds). The probe
// runs without its caller's cancellation: other callers wait for the same answer.
func (v *versionProbe) run(ctx context.Context, r *versionRound) {
	r.err = v.stmt.QueryRowContext(ctx).Scan(&r.n)
	close(r.done)
	v.mu.Lock()
	defer v.mu.Unlock()
	if next := v.next; next != nil {
		v.next = nil
		go v.run(ctx, next)
		return
	}
	v.running = false
}

func pgDataVersion(ctx context.Context, s *Store) (int64, error) {
	var n int64
	err := s.readOne(ctx, "SELECT sum(v)::bigint FROM data_version").Scan(&n)
	return n, err
}
