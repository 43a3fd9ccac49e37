package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"time"
)

// Postgres is a throwaway PostgreSQL server in a directory of its own, on loopback, started
// with the Debian package's binaries (package postgresql). It runs as an unprivileged user
// when the caller is root (PostgreSQL refuses to run as root).
type Postgres struct {
	Dir  string
	Port int
	bin  string
	as   string // user to run as ("" = the caller)
}

// postgresBin finds the newest /usr/lib/postgresql/<version>/bin.
func postgresBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(dirs) == 0 {
		if p, err := exec.LookPath("pg_ctl"); err == nil {
			return filepath.Dir(p), nil
		}
		return "", fmt.Errorf("PostgreSQL is not installed (apt-get install postgresql): no /usr/lib/postgresql/*/bin/pg_ctl")
	}
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	return filepath.Dir(dirs[0]), nil
}

func version(pgCtl string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(pgCtl))))
	return v
}

// StartPostgres initialises a cluster in a new directory under the system's temporary
// directory (the server's user must be able to reach it, which a test's own temporary
// directory does not allow) and starts it on 127.0.0.1:port with a database named canistry.
// Durability is off (fsync): it is a test and demo database. Remove deletes it all.
func StartPostgres(ctx context.Context, port int) (*Postgres, error) {
	bin, err := postgresBin()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "canistry-pg-")
	if err != nil {
		return nil, err
	}
	p := &Postgres{Dir: dir, Port: port, bin: bin}
	if os.Geteuid() == 0 {
		p.as = "postgres"
		if _, err := user.Lookup(p.as); err != nil {
			p.as = "nobody"
		}
	}
	if err := p.chown(dir); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	if err := p.run(ctx, "initdb", "-D", p.data(), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	if err := p.Start(ctx); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	if err := p.run(ctx, "psql", "-h", "127.0.0.1", "-p", strconv.Itoa(port), "-U", "postgres", "-q",
		"-c", "CREATE DATABASE canistry"); err != nil {
		p.Remove()
		return nil, err
	}
	return p, nil
}

// Remove stops the server if it runs and deletes its directory.
func (p *Postgres) Remove() {
	_ = p.Stop(context.Background())
	_ = os.RemoveAll(p.Dir)
}

func (p *Postgres) data() string { return filepath.Join(p.Dir, "data") }

// URL is the DATABASE_URL of the canistry database.
func (p *Postgres) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/canistry?sslmode=disable", p.Port)
}

// Start starts the server (again) and waits until it accepts connections.
func (p *Postgres) Start(ctx context.Context) error {
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", p.Port, p.Dir)
	return p.run(ctx, "pg_ctl", "-D", p.data(), "-l", filepath.Join(p.Dir, "server.log"), "-o", opts, "-w", "-t", "60", "start")
}

// Stop stops the server (fast: open transactions are rolled back).
func (p *Postgres) Stop(ctx context.Context) error {
	return p.run(ctx, "pg_ctl", "-D", p.data(), "-m", "fast", "-w", "-t", "60", "stop")
}

func (p *Postgres) run(ctx context.Context, tool string, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	name := filepath.Join(p.bin, tool)
	if p.as != "" {
		args = append([]string{"-u", p.as, "--", name}, args...)
		name = "runuser"
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = p.Dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %v: %w\n%s", tool, args, err, out)
	}
	return nil
}

func (p *Postgres) chown(dir string) error {
	if p.as == "" {
		return nil
	}
	u, err := user.Lookup(p.as)
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return os.Chown(dir, uid, gid)
}
