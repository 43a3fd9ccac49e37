package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"canistry/pkg/lifecycle/runtest"
	"canistry/pkg/store/pgtest"
)

// The store tests run over both backends: SQLite files in a temp dir, and a real PostgreSQL
// server that the first test needing it starts (pgtest) and TestMain stops, with a fresh
// database per test. Without PostgreSQL installed the postgres subtests skip, except in CI
// (CI=true), where they fail.

var pgServer struct {
	once sync.Once
	srv  *pgtest.Server
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if pgServer.srv != nil {
		pgServer.srv.Stop()
	}
	os.Exit(code)
}

// postgresServer returns the package's PostgreSQL server, starting it on first use.
func postgresServer(tb testing.TB) *pgtest.Server {
	tb.Helper()
	pgServer.once.Do(func() { pgServer.srv, pgServer.err = pgtest.Start(context.Background()) })
	if pgServer.err != nil {
		if errors.Is(pgServer.err, pgtest.ErrNotInstalled) && os.Getenv("CI") != "true" {
			tb.Skipf("skipping the PostgreSQL backend: %v", pgServer.err)
		}
		tb.Fatalf("start PostgreSQL: %v", pgServer.err)
	}
	return pgServer.srv
}

// backend is one database engine the tests run on.
type backend struct {
	name string // "sqlite" or "postgres"
}

// DB returns a new empty database: a file path in a fresh temp dir, or a new PostgreSQL
// database's URL. Opening the same value twice opens the same database.
func (b backend) DB(tb testing.TB) string {
	tb.Helper()
	if b.name == "sqlite" {
		return filepath.Join(tb.TempDir(), "registry.db")
	}
	u, err := postgresServer(tb).NewDatabase(tb.Context())
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

var backends = []backend{{name: "sqlite"}, {name: "postgres"}}

// forEachBackend runs fn as a subtest per backend.
func forEachBackend(t *testing.T, fn func(t *testing.T, b backend)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			if b.name == "postgres" {
				postgresServer(t)
			}
			fn(t, b)
		})
	}
}

// finished runs fn in a goroutine and waits for it at most runtest.Patience (a hang guard, not
// a timing assertion): it reports whether fn returned, and fn's error.
func finished(fn func() error) (done bool, err error) {
	ch := make(chan error, 1)
	go func() { ch <- fn() }()
	select {
	case err := <-ch:
		return true, err
	case <-time.After(runtest.Patience):
		return false, nil
	}
}
