package store_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"canistry/pkg/registry"
	"canistry/pkg/store"
)

// MustOpen opens a store on a fresh file in a temp dir and closes it at cleanup.
func MustOpen(tb testing.TB) *store.Store {
	tb.Helper()
	return mustOpenOn(tb, backend{name: "sqlite"})
}

// mustOpenOn opens a store on a fresh database of backend b and closes it at cleanup.
func mustOpenOn(tb testing.TB, b backend) *store.Store {
	tb.Helper()
	s, err := store.Open(tb.Context(), b.DB(tb))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

func TestOpen(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		t.Run("OK", func(t *testing.T) {
			s := mustOpenOn(t, b)
			v, err := s.SchemaVersion(t.Context())
			if err != nil || v < 1 {
				t.Fatalf("SchemaVersion = %d, %v", v, err)
			}
			if err := s.Ping(t.Context()); err != nil {
				t.Fatal(err)
			}
			if s.SizeBytes() == 0 {
				t.Error("SizeBytes = 0 for a migrated database")
			}
		})
		t.Run("ConcurrentOnEmptyDir", func(t *testing.T) {
			path := b.DB(t)
			if b.name == "sqlite" {
				path = filepath.Join(t.TempDir(), "sub", "registry.db")
			}
			var wg sync.WaitGroup
			errs := make([]error, 6)
			for i := range errs {
				wg.Go(func() {
					s, err := store.Open(t.Context(), path)
					if err == nil {
						err = s.Close()
					}
					errs[i] = err
				})
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("open %d: %v", i, err)
				}
			}
		})
		t.Run("ReopenKeepsSchema", func(t *testing.T) {
			path := b.DB(t)
			for range 2 {
				s, err := store.Open(t.Context(), path)
				if err != nil {
					t.Fatal(err)
				}
				_ = s.Close()
			}
		})
		t.Run("ErrUnwritableDir", func(t *testing.T) {
			if b.name != "sqlite" {
				t.Skip("a data directory is SQLite's")
			}
			dir := t.TempDir()
			blocker := filepath.Join(dir, "file")
			if err := os.WriteFile(blocker, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := store.Open(t.Context(), filepath.Join(blocker, "registry.db")); err == nil {
				t.Fatal("want an error when the data directory cannot be created")
			}
		})
	})
}

func TestStore_Heartbeat(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
		s, err := store.Open(t.Context(), b.DB(t), store.WithClock(func() time.Time { return now }))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		p := registry.Process{Name: registry.ProcessPoller, Instance: "h:1", Version: "v1", StartedAt: now.Add(-time.Hour), Addr: "[::1]:8082"}
		for range 2 { // the second beat updates, it does not add a row
			if err := s.Heartbeat(t.Context(), p); err != nil {
				t.Fatal(err)
			}
		}
		ps, err := s.Processes(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) != 1 || ps[0].Name != "poller" || !ps[0].HeartbeatAt.Equal(now) || ps[0].Addr != p.Addr {
			t.Fatalf("Processes = %+v", ps)
		}
		if !ps[0].Alive(now.Add(time.Second), 15*time.Second) || ps[0].Alive(now.Add(time.Minute), 15*time.Second) {
			t.Error("Alive wrong")
		}
		counts, err := s.Counts(t.Context())
		if err != nil || len(counts) == 0 {
			t.Fatalf("Counts = %v, %v", counts, err)
		}
	})
}

// Multi-process contention: the test binary re-executes itself as three writer processes on
// one database; each runs goroutines doing read-then-write transactions (the pattern that
// fails with "database is locked" without IMMEDIATE transactions). Every write must land and
// none may surface a busy error.
const (
	writerEnv      = "CANISTRY_STORE_WRITER"
	writerProcs    = 3
	writerRoutines = 4
	writerTxs      = 150
)

func TestMultiProcessWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	forEachBackend(t, func(t *testing.T, b backend) { multiProcessWrites(t, b.DB(t)) })
}

// multiProcessWrites runs the writer processes on path (a SQLite file or a PostgreSQL URL).
func multiProcessWrites(t *testing.T, path string) {
	var wg sync.WaitGroup
	outs := make([][]byte, writerProcs)
	errs := make([]error, writerProcs)
	for i := range writerProcs {
		cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestWriterProcess$", "-test.v")
		cmd.Env = append(os.Environ(), writerEnv+"="+path, "CANISTRY_WRITER_ID="+strconv.Itoa(i))
		wg.Go(func() { outs[i], errs[i] = cmd.CombinedOutput() })
	}
	wg.Wait()
	for i := range writerProcs {
		if errs[i] != nil {
			t.Fatalf("writer %d: %v\n%s", i, errs[i], outs[i])
		}
	}
	s, err := store.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ps, err := s.Processes(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(ps), writerProcs*writerRoutines*writerTxs; got != want {
		t.Fatalf("%d rows after concurrent writes, want %d: writes were lost", got, want)
	}
}

// TestWriterProcess is the child of TestMultiProcessWrites; it does nothing on its own.
func TestWriterProcess(t *testing.T) {
	path := os.Getenv(writerEnv)
	if path == "" {
		t.Skip("helper process for TestMultiProcessWrites")
	}
	id := os.Getenv("CANISTRY_WRITER_ID")
	s, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var wg sync.WaitGroup
	errs := make(chan error, writerRoutines*writerTxs)
	for g := range writerRoutines {
		wg.Go(func() {
			for n := range writerTxs {
				err := s.Write(context.Background(), func(tx *gorm.DB) error {
					var before int64
					if err := tx.Table("processes").Count(&before).Error; err != nil {
						return err
					}
					return tx.Exec("INSERT INTO processes (name, instance, started_at, heartbeat_at) VALUES (?, ?, ?, ?)",
						"writer", fmt.Sprintf("%s-%d-%d", id, g, n), before, before).Error
				})
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("write failed: %v", err)
	}
}

// DataVersion changes after a commit on another connection or in another process, and not
// otherwise.
func TestStore_DataVersion(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		path := b.DB(t)
		s, err := store.Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		v1, err := s.DataVersion(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if v2, _ := s.DataVersion(t.Context()); v2 != v1 {
			t.Fatalf("version changed without a write: %d → %d", v1, v2)
		}
		// A write through this store's own writer connection.
		if err := s.Heartbeat(t.Context(), registry.Process{Name: "api", Instance: "a"}); err != nil {
			t.Fatal(err)
		}
		v3, _ := s.DataVersion(t.Context())
		if v3 == v1 {
			t.Fatal("version unchanged after this store's own write")
		}
		// A write through a second store on the same file (as another process would).
		other, err := store.Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		if err := other.Heartbeat(t.Context(), registry.Process{Name: "poller", Instance: "b"}); err != nil {
			t.Fatal(err)
		}
		if v4, _ := s.DataVersion(t.Context()); v4 == v3 {
			t.Fatal("version unchanged after another connection's write")
		}
	})
}

// DataVersion stays exact when concurrent callers share probes: each caller that reads the
// version after its own write committed sees it changed (a probe already under way when it
// asked must not answer it).
func TestStore_DataVersion_Concurrent(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "registry.db"))
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 25 {
				before, err := s.DataVersion(t.Context())
				if err != nil {
					t.Error(err)
					return
				}
				if err := s.Heartbeat(t.Context(), registry.Process{Name: "api", Instance: fmt.Sprintf("%d-%d", w, i)}); err != nil {
					t.Error(err)
					return
				}
				if after, err := s.DataVersion(t.Context()); err != nil || after == before {
					t.Errorf("worker %d: version %d before and %d after its own write (%v)", w, before, after, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestWrite_WaitForWriterEndsWithCtx: a write waiting for the writer connection, which another
// write of the same process holds, gives up when its ctx ends (503 material, nothing written),
// and the store writes normally once the first write is done.
func TestWrite_WaitForWriterEndsWithCtx(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := mustOpenOn(t, b)
		ctx := t.Context()
		locked, release, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
		go func() { done <- s.Write(ctx, func(*gorm.DB) error { close(locked); <-release; return nil }) }()
		<-locked
		short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		returned, err := finished(func() error {
			return s.Write(short, func(tx *gorm.DB) error {
				return tx.Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'x', 0)").Error
			})
		})
		if !returned {
			t.Fatal("a write kept waiting for the writer connection after its ctx ended")
		}
		if registry.ErrorCode(err) != registry.EUNAVAILABLE {
			t.Errorf("the waiting write: %v, want unavailable", err)
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		var n int64
		if err := s.Write(ctx, func(tx *gorm.DB) error {
			return tx.Raw("SELECT count(*) FROM schema_migrations WHERE version = 9999").Scan(&n).Error
		}); err != nil || n != 0 {
			t.Fatalf("the abandoned write left %d rows (%v)", n, err)
		}
	})
}
