//go:build unix

package main

import (
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"canistry/pkg/lifecycle/runtest"
)

// Outside systemd, with the common umask 022, the data directory the api creates is 0700 and
// the database, its WAL and shared-memory files and the NATS token are 0600: registry.db holds
// the webhook signing secrets.
func TestRun_DataFilesPrivate(t *testing.T) {
	old := syscall.Umask(0o022) // process-wide: this test is not parallel
	t.Cleanup(func() { syscall.Umask(old) })
	dir := filepath.Join(t.TempDir(), "data")
	env := baseEnv(t)
	env["DATA_DIR"] = dir
	env["ADMIN_API_KEY"] = "admin-key-0123456789"
	p := runtest.Start(t, run, env)
	// A write, so that the WAL has content while the api runs.
	if code, body := adminDo(t, http.MethodPost, p.URL("/webhooks"), `{"url":"https://example.com/hook"}`); code != http.StatusCreated {
		t.Fatalf("POST /webhooks = %d %s", code, body)
	}
	want := map[string]fs.FileMode{
		dir: fs.ModeDir | 0o700, "registry.db": 0o600, "registry.db-wal": 0o600, "registry.db-shm": 0o600, "nats.token": 0o600,
	}
	for name, mode := range want {
		path := name
		if name != dir {
			path = filepath.Join(dir, name)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Errorf("stat %s: %v", name, err)
			continue
		}
		if got := fi.Mode() & (fs.ModeDir | fs.ModePerm); got != mode {
			t.Errorf("%s mode = %v, want %v", name, got, mode)
		}
	}
	if err := p.Stop(t); err != nil {
		t.Fatal(err)
	}
}
