// Package pgtest starts a throwaway PostgreSQL server for tests and benchmarks: initdb into a
// temp directory, pg_ctl start listening only on a unix socket in that directory (no TCP port,
// so parallel test binaries never collide), trust authentication, fsync off. Each test then
// gets a fresh database of its own (NewDatabase). The server binaries come from the Debian
// package postgresql (/usr/lib/postgresql/*/bin, or $PG_BIN). As root, the server runs as the
// postgres user (initdb refuses root).
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver for the admin connection
)

// ErrNotInstalled is returned by Start when no PostgreSQL server binaries are found.
var ErrNotInstalled = errors.New("PostgreSQL server binaries not found (apt-get install postgresql, or set PG_BIN)")

// Server is a running throwaway PostgreSQL server.
type Server struct {
	dir   string // temp dir: data/, the socket, the log
	bin   string
	owner *user.User // the server's user when started as root, else nil

	mu    sync.Mutex
	admin *sql.DB
	next  atomic.Int64
}

// Bin finds the directory of the server binaries: $PG_BIN, else the newest
// /usr/lib/postgresql/*/bin that has initdb.
func Bin() (string, error) {
	if b := os.Getenv("PG_BIN"); b != "" {
		return b, nil
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(found) == 0 {
		if p, err := exec.LookPath("initdb"); err == nil {
			return filepath.Dir(p), nil
		}
		return "", ErrNotInstalled
	}
	sort.Slice(found, func(i, j int) bool { return version(found[i]) < version(found[j]) })
	return filepath.Dir(found[len(found)-1]), nil
}

func version(initdb string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return v
}

// Start initialises and starts a server in a new temp directory. Stop it with Stop.
func Start(ctx context.Context) (*Server, error) {
	bin, err := Bin()
	if err != nil {
		return nil, err
	}
	// A short path: a unix socket path must fit in about 100 bytes.
	dir, err := os.MkdirTemp("", "pgtest")
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir, bin: bin}
	if os.Geteuid() == 0 {
		if s.owner, err = serverUser(); err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
		uid, _ := strconv.Atoi(s.owner.Uid)
		gid, _ := strconv.Atoi(s.owner.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	if out, err := s.run(ctx, "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
		"--locale=C", "--no-sync"); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	if err := s.start(ctx); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	s.admin, err = sql.Open("pgx", s.URL("postgres"))
	if err == nil {
		err = s.admin.PingContext(ctx)
	}
	if err != nil {
		s.Stop()
		return nil, fmt.Errorf("connect to the test server: %w", err)
	}
	return s, nil
}

func (s *Server) start(ctx context.Context) error {
	opts := fmt.Sprintf("-c listen_addresses='' -c unix_socket_directories='%s' -c fsync=off "+
		"-c synchronous_commit=off -c full_page_writes=off -c max_connections=400 -c shared_buffers=64MB", s.dir)
	if out, err := s.run(ctx, "pg_ctl", "-D", filepath.Join(s.dir, "data"), "-l", filepath.Join(s.dir, "server.log"),
		"-w", "-t", "60", "-o", opts, "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
		return fmt.Errorf("pg_ctl start: %w\n%s\n%s", err, out, log)
	}
	return nil
}

// Pause stops the server as an outage would (immediate shutdown: every connection is cut)
// and keeps its data; Resume starts it again.
func (s *Server) Pause(ctx context.Context) error {
	if out, err := s.run(ctx, "pg_ctl", "-D", filepath.Join(s.dir, "data"), "-m", "immediate", "-w", "stop"); err != nil {
		return fmt.Errorf("pg_ctl stop: %w\n%s", err, out)
	}
	return nil
}

// Resume starts a paused server on the same data and socket.
func (s *Server) Resume(ctx context.Context) error { return s.start(ctx) }

// serverUser is the account the server runs as when the tests run as root.
func serverUser() (*user.User, error) {
	for _, name := range []string{"postgres", "nobody"} {
		if u, err := user.Lookup(name); err == nil {
			return u, nil
		}
	}
	return nil, errors.New("running as root and neither user postgres nor nobody exists to run PostgreSQL")
}

func (s *Server) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(s.bin, name), args...)
	if s.owner != nil {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", s.owner.Username, "--", filepath.Join(s.bin, name)}, args...)...)
	}
	cmd.Dir = s.dir
	return cmd.CombinedOutput()
}

// URL is the connection URL of database db on the server (over its unix socket).
func (s *Server) URL(db string) string {
	return "postgres://postgres@/" + url.PathEscape(db) + "?host=" + url.QueryEscape(s.dir) + "&sslmode=disable"
}

// NewDatabase creates an empty database and returns its URL.
func (s *Server) NewDatabase(ctx context.Context) (string, error) {
	name := fmt.Sprintf("t%d", s.next.Add(1))
	if _, err := s.admin.ExecContext(ctx, "CREATE DATABASE "+name+" TEMPLATE template0 STRATEGY file_copy"); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	return s.URL(name), nil
}

// Stop stops the server at once and removes its directory.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.admin != nil {
		_ = s.admin.Close()
		s.admin = nil
	}
	_, _ = s.run(context.Background(), "pg_ctl", "-D", filepath.Join(s.dir, "data"), "-m", "immediate", "-w", "stop")
	_ = os.RemoveAll(s.dir)
}

// New starts a server for one test and stops it at the test's cleanup. Without PostgreSQL
// installed it skips the test, except in CI (CI=true), where it fails it.
func New(tb testing.TB) *Server {
	tb.Helper()
	s, err := Start(tb.Context())
	if errors.Is(err, ErrNotInstalled) && os.Getenv("CI") != "true" {
		tb.Skipf("skipping the PostgreSQL test: %v", err)
	}
	if err != nil {
		tb.Fatalf("start PostgreSQL: %v", err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// Database is NewDatabase for a test: it fails tb on an error.
func (s *Server) Database(tb testing.TB) string {
	tb.Helper()
	u, err := s.NewDatabase(tb.Context())
	if err != nil {
		tb.Fatal(err)
	}
	return u
}
