package lifecycle_test

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"canistry/pkg/config"
	"canistry/pkg/lifecycle"
	"canistry/pkg/lifecycle/runtest"
	"canistry/pkg/registry"
	"canistry/pkg/store"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func beatOf(t *testing.T, st *store.Store, name string) (registry.Process, bool) {
	t.Helper()
	ps, err := st.Processes(t.Context())
	if err != nil {
		t.Fatalf("read processes: %v", err)
	}
	for _, p := range ps {
		if p.Name == name {
			return p, true
		}
	}
	return registry.Process{}, false
}

// TestHeartbeat_BusyDatabase holds the database's write lock from a second connection for
// several heartbeat intervals. The beat waiting for it does not fail, status reads keep working
// meanwhile, and once the lock is released the beat is written stamped with its write time, so
// the process is reported alive right afterwards.
func TestHeartbeat_BusyDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.db")
	st, err := store.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })

	const interval = 50 * time.Millisecond
	logs := &lockedBuffer{}
	b := &lifecycle.Base{Name: registry.ProcessPoller, Config: config.Config{HeartbeatInterval: interval},
		Logger: slog.New(slog.NewTextHandler(logs, nil)), Store: st, Started: time.Now()}
	b.StartHeartbeat("[::1]:8082")
	t.Cleanup(func() { _ = b.Close() })

	runtest.WaitFor(t, "the first heartbeat", func() bool { _, ok := beatOf(t, st, registry.ProcessPoller); return ok })

	// A second connection takes the write lock and keeps it.
	other, err := gorm.Open(sqlite.Open("file:"+path+"?_pragma=busy_timeout(10000)"), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatal(err)
	}
	otherDB, err := other.DB()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = otherDB.Close() })
	conn, err := otherDB.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(t.Context(), "UPDATE processes SET version = version"); err != nil {
		t.Fatal(err)
	}
	locked, _ := beatOf(t, st, registry.ProcessPoller)

	// Hold it for 8 heartbeat intervals (the fault: a database busy far longer than a beat's old
	// one-interval deadline), reading status at every tick; the reads must not fail meanwhile.
	hold := time.NewTicker(interval)
	defer hold.Stop()
	for range 8 {
		<-hold.C
		if _, err := st.SchemaVersion(t.Context()); err != nil {
			t.Fatalf("schema version while busy: %v", err)
		}
		if _, err := st.Counts(t.Context()); err != nil {
			t.Fatalf("counts while busy: %v", err)
		}
		if p, _ := beatOf(t, st, registry.ProcessPoller); !p.HeartbeatAt.Equal(locked.HeartbeatAt) {
			t.Fatalf("a heartbeat was written while another connection held the write lock")
		}
	}
	released := time.Now().Truncate(time.Millisecond)
	if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}

	var after registry.Process
	runtest.WaitFor(t, "a heartbeat after the release", func() bool {
		p, _ := beatOf(t, st, registry.ProcessPoller)
		after = p
		return p.HeartbeatAt.After(locked.HeartbeatAt)
	})
	if after.HeartbeatAt.Before(released) {
		t.Errorf("heartbeat after the release is stamped %s, before the release at %s (stamped when asked, not when written)",
			after.HeartbeatAt, released)
	}
	// Judged at the moment of the release, with the status page's three intervals, it is alive.
	if !after.Alive(released, 3*interval) {
		t.Errorf("process judged dead right after the database became free: beat %s, release %s", after.HeartbeatAt, released)
	}
	if l := logs.String(); strings.Contains(l, "heartbeat failed") {
		t.Errorf("a busy database failed a heartbeat:\n%s", l)
	}
}
