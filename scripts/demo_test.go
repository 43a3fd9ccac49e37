package scripts_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestDemo runs make demo's script on free ports: its banner names the dashboard, the API
// reference, the live page and both keys, those URLs answer, and once stopped (SIGINT, as
// Ctrl-C) nothing of its temporary directory is left.
func TestDemo(t *testing.T) {
	requireTool(t, "curl")
	requireTool(t, "setsid")
	tmp := t.TempDir()
	port := func() string { return strconv.Itoa(freePort(t)) }
	api := port()
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Minute) // it builds five binaries
	defer cancel()
	pr, pw := io.Pipe()
	cmd := exec.CommandContext(ctx, scriptPath(t, "demo.sh"))
	cmd.Env = append(baseEnv(), "TMPDIR="+tmp, "GOCACHE="+goEnv(t, "GOCACHE"), "GOMODCACHE="+goEnv(t, "GOMODCACHE"),
		"IC_ADDR=127.0.0.1:"+port(), "API_PORT="+api, "NOTIFIER_PORT="+port(),
		"POLLER_PORT="+port(), "NATS_PORT="+port(), "STORM_EVERY=1s")
	cmd.Stdout, cmd.Stderr = pw, pw
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = time.Minute
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := watchLines(pr)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait(); pw.Close() }()
	base := "http://127.0.0.1:" + api
	for _, want := range []string{"canistry demo is running", "dashboard     " + base + "/", "API reference " + base + "/docs",
		"live page     " + base + "/test", "admin key     demo-admin-key-0123456789", "notify key    demo-notify-key-0123456789"} {
		lines.waitFor(ctx, t, want)
	}
	for _, path := range []string{"/", "/docs", "/test"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d, want 200", path, resp.StatusCode)
		}
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	if err := <-done; err != nil {
		t.Errorf("demo.sh after SIGINT: %v, want exit 0\n%s", err, lines.rest())
	}
	lines.waitFor(ctx, t, "demo: removed "+tmp)
	left, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range left {
		t.Errorf("left behind in TMPDIR: %s", e.Name())
	}
}

// goEnv is `go env NAME`: the demo's builds share the test's caches under a clean environment.
func goEnv(t *testing.T, name string) string {
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(out[:len(out)-1])
}
