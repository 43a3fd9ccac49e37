package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"canistry/pkg/lifecycle/runtest"
	"canistry/pkg/store"
)

// buildBinaries compiles the three commands into a temp dir.
func buildBinaries(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, b := range []string{"api", "poller", "notifier"} {
		out, err := exec.Command("go", "build", "-o", filepath.Join(dir, b), "canistry/cmd/"+b).CombinedOutput()
		if err != nil {
			t.Fatalf("build %s: %v\n%s", b, err, out)
		}
	}
	return dir
}

func freeAddr(t *testing.T) string {
	t.Helper()
	return "127.0.0.1:" + strconv.Itoa(runtest.FreePort(t, false))
}

type binProc struct {
	name string
	cmd  *exec.Cmd
	out  *lockedBuf
	done chan struct{}
}

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuf) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

func startBin(t *testing.T, dir, name string, env []string) *binProc {
	t.Helper()
	p := &binProc{name: name, out: &lockedBuf{}, done: make(chan struct{})}
	p.cmd = exec.Command(filepath.Join(dir, name), "-env-file", "")
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { _ = p.cmd.Process.Kill(); <-p.done })
	return p
}

// stop sends SIGTERM and waits; it fails the test on a non-zero exit or an ERROR log record.
func (p *binProc) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not stop within 20s of SIGTERM:\n%s", p.name, p.out)
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("%s exited %d:\n%s", p.name, code, p.out)
	}
	for _, line := range strings.Split(p.out.String(), "\n") {
		if strings.Contains(line, `"level":"ERROR"`) {
			t.Errorf("%s logged an error: %s", p.name, line)
		}
	}
}

type status struct {
	AllAlive bool `json:"all_alive"`
	Database struct {
		SchemaVersion int `json:"schema_version"`
	} `json:"database"`
	Processes []struct {
		Name  string `json:"name"`
		Alive bool   `json:"alive"`
	} `json:"processes"`
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	runtest.WaitFor(t, what, cond)
}

func httpStatus(url string) int {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestThreeProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binaries")
	}
	bin := buildBinaries(t)
	data := t.TempDir()
	apiAddr, notifierAddr, pollerAddr, natsAddr := freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
	env := append(os.Environ(),
		"DATA_DIR="+data,
		"API_ADDR="+apiAddr,
		"NOTIFIER_ADDR="+notifierAddr,
		"POLLER_ADDR="+pollerAddr,
		"NATS_URL=nats://"+natsAddr,
		"NATS_TOKEN=test-token-0123456789",
		"NOTIFY_API_KEYS=notify-key-0123456789",
		"ADMIN_API_KEY=admin-key-0123456789",
		"IC_URL=http://127.0.0.1:1",
		"HEARTBEAT_INTERVAL=1s", // alive = a beat within 3 s: robust to a loaded CI machine
		"REFRESH_SCHEDULE=@every 1h",
	)

	// All three at the same instant on an empty data dir.
	var procs [3]*binProc
	var wg sync.WaitGroup
	for i, name := range []string{"api", "poller", "notifier"} {
		wg.Go(func() { procs[i] = startBin(t, bin, name, env) })
	}
	wg.Wait()
	api, poller, notifier := procs[0], procs[1], procs[2]

	var st status
	waitFor(t, "three live processes in /system/status", func() bool {
		resp, err := http.Get("http://" + apiAddr + "/system/status")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return json.NewDecoder(resp.Body).Decode(&st) == nil && st.AllAlive
	})
	if len(st.Processes) != 3 {
		t.Fatalf("processes = %+v", st.Processes)
	}

	// One schema: every migration applied exactly once.
	s, err := store.Open(t.Context(), filepath.Join(data, "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.SchemaVersion(t.Context())
	s.Close()
	if err != nil || v != st.Database.SchemaVersion || v < 1 {
		t.Fatalf("schema version %d (status says %d): %v", v, st.Database.SchemaVersion, err)
	}

	// The api hosts NATS: restart it; poller and notifier lose the bus, then get it back.
	api.stop(t)
	for _, addr := range []string{pollerAddr, notifierAddr} {
		waitFor(t, addr+" to report the bus down", func() bool { return httpStatus("http://"+addr+"/readyz") == http.StatusServiceUnavailable })
	}
	api = startBin(t, bin, "api", env)
	for _, addr := range []string{pollerAddr, notifierAddr, apiAddr} {
		waitFor(t, addr+" to be ready again", func() bool { return httpStatus("http://"+addr+"/readyz") == http.StatusOK })
	}
	waitFor(t, "all alive after the restart", func() bool {
		resp, err := http.Get("http://" + apiAddr + "/system/status")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return json.NewDecoder(resp.Body).Decode(&st) == nil && st.AllAlive
	})

	// Ctrl-C: everything stops cleanly, the api last.
	for _, p := range []*binProc{notifier, poller, api} {
		p.stop(t)
	}
}
