//go:build linux

package main

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"canistry/pkg/lifecycle/runtest"
)

// When the SQLite disk is full, a write is answered 503 unavailable (not 500 internal) and
// /readyz reports not-ready (/metrics: canistry_storage_failing 1, canistry_ready 0) until a
// write succeeds again. As root (CI) the data directory is a 4 MiB tmpfs mounted by the test
// and filled to the last page; otherwise (no right to mount) the file size limit
// (RLIMIT_FSIZE) injects the same kind of write error.
func TestRun_DiskFull(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	disk := newSmallDisk(t, dir)
	env := baseEnv(t)
	env["DATA_DIR"] = dir
	env["ADMIN_API_KEY"] = "admin-key-0123456789"
	env["HEARTBEAT_INTERVAL"] = "1m" // only the test's writes, so readiness follows them alone
	p := runtest.Start(t, run, env)
	runtest.WaitHTTP(t, p.URL("/readyz"), http.StatusOK)

	disk.fill(t)
	notes := strings.Repeat("n", 1500)
	full := false
	for i := 0; i < 20000 && !full; i++ {
		body := fmt.Sprintf(`{"hash":"%064x","name":"h%d","notes":%q}`, i, i, notes)
		code, reply := adminDo(t, http.MethodPost, p.URL("/module-hashes"), body)
		switch {
		case code == http.StatusServiceUnavailable && errorCode(t, reply) == "unavailable":
			full = true
		case code != http.StatusCreated:
			t.Fatalf("write %d on a full disk = %d %s, want 201 until 503 unavailable", i, code, reply)
		}
	}
	if !full {
		t.Fatal("no write failed on the full disk")
	}
	if code, body := get(t, p.URL("/readyz")); code != http.StatusServiceUnavailable || !strings.Contains(string(body), "storage") {
		t.Errorf("/readyz after a failed write = %d %s, want 503 naming the storage", code, body)
	}
	runtest.CheckSeries(t, runtest.MetricsText(t, p.URL("")), []string{"canistry_storage_failing 1", "canistry_ready 0"})

	disk.free(t)
	body := fmt.Sprintf(`{"hash":"%064x","name":"after"}`, 1<<40)
	if code, reply := adminDo(t, http.MethodPost, p.URL("/module-hashes"), body); code != http.StatusCreated {
		t.Fatalf("write after space came back = %d %s", code, reply)
	}
	if code, body := get(t, p.URL("/readyz")); code != http.StatusOK {
		t.Errorf("/readyz after a successful write = %d %s, want 200", code, body)
	}
	runtest.CheckSeries(t, runtest.MetricsText(t, p.URL("")), []string{"canistry_storage_failing 0", "canistry_ready 1"})
	if err := p.Stop(t); err != nil {
		t.Fatal(err)
	}
}

// smallDisk is a data directory whose free space the test takes away and gives back.
type smallDisk struct {
	dir    string
	filler string          // tmpfs: the file that takes the free space
	limit  *syscall.Rlimit // no tmpfs: the file size limit to restore
}

func newSmallDisk(t *testing.T, dir string) *smallDisk {
	t.Helper()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=4m,mode=0700"); err != nil {
		t.Logf("cannot mount a tmpfs (%v): injecting write errors by RLIMIT_FSIZE instead", err)
		return &smallDisk{dir: dir}
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount the test's tmpfs %s: %v", dir, err)
		}
	})
	return &smallDisk{dir: dir, filler: filepath.Join(dir, "filler")}
}

// fill takes every free byte: a file grown to ENOSPC on the tmpfs, else a file size limit at the
// size of the largest file, so that no database file can grow.
func (d *smallDisk) fill(t *testing.T) {
	t.Helper()
	if d.filler == "" {
		d.limitFileSize(t)
		return
	}
	f, err := os.Create(d.filler)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill the tmpfs: %v", err)
			}
			return
		}
	}
}

func (d *smallDisk) limitFileSize(t *testing.T) {
	t.Helper()
	var largest int64
	entries, err := os.ReadDir(d.dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if fi, err := e.Info(); err == nil {
			largest = max(largest, fi.Size())
		}
	}
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	signal.Ignore(syscall.SIGXFSZ) // a write past the limit fails with EFBIG instead of killing us
	lim := syscall.Rlimit{Cur: uint64(largest), Max: old.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Fatal(err)
	}
	d.limit = &old
	t.Cleanup(func() { d.free(t) })
}

// free gives the space back.
func (d *smallDisk) free(t *testing.T) {
	t.Helper()
	if d.limit != nil {
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, d.limit); err != nil {
			t.Fatal(err)
		}
		d.limit = nil
		return
	}
	if d.filler != "" {
		if err := os.Remove(d.filler); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
}
