package scripts_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// runLocal is a running scripts/run_local.sh.
type runLocal struct {
	cmd  *exec.Cmd
	out  *io.PipeWriter // closed once the script has exited, which ends the output
	once sync.Once
	err  error
}

// startRunLocal starts run_local.sh in dir with vars added to a clean environment; the test's
// cleanup stops it if the test did not.
func startRunLocal(ctx context.Context, tb testing.TB, dir string, vars []string) (*runLocal, *lineWatcher) {
	tb.Helper()
	pr, pw := io.Pipe()
	cmd := exec.CommandContext(ctx, scriptPath(tb, "run_local.sh"))
	cmd.Dir, cmd.Env = dir, append(baseEnv(), vars...)
	cmd.Stdout, cmd.Stderr = pw, pw
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	r := &runLocal{cmd: cmd, out: pw}
	lines := watchLines(pr)
	tb.Cleanup(func() { _ = r.stop() })
	return r, lines
}

// wait waits for the script to exit on its own.
func (r *runLocal) wait() error {
	r.once.Do(func() {
		r.err = r.cmd.Wait()
		r.out.Close()
	})
	return r.err
}

// stop sends SIGTERM and waits for the script to exit.
func (r *runLocal) stop() error { return r.signal(syscall.SIGTERM) }

// signal sends sig and waits for the script to exit.
func (r *runLocal) signal(sig syscall.Signal) error {
	_ = r.cmd.Process.Signal(sig)
	return r.wait()
}

// fakeBinaries writes stand-ins for bin/api, bin/poller and bin/notifier that log "NAME start"
// and "NAME stop" to the returned file, print "NAME started" once SIGTERM is handled, and run
// until SIGTERM. exits maps a name to a status that binary exits with right after starting.
func fakeBinaries(tb testing.TB, dir string, exits map[string]string) (binDir, logFile string) {
	tb.Helper()
	binDir, logFile = filepath.Join(dir, "bin"), filepath.Join(dir, "events.log")
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		tb.Fatal(err)
	}
	for _, name := range []string{"api", "poller", "notifier"} {
		// Short sleeps rather than one long one: the trap runs as soon as the current sleep ends,
		// and no long-lived child is left holding the output pipe.
		body := "trap 'echo \"" + name + " stop\" >>\"$LOG\"; exit 0' TERM\n" +
			"echo \"" + name + " started\"\nwhile :; do sleep 0.05; done\n"
		if code, ok := exits[name]; ok {
			body = "exit " + code + "\n"
		}
		script := "#!/bin/sh\nLOG='" + logFile + "'\necho \"" + name + " start\" >>\"$LOG\"\n" + body
		if err := os.WriteFile(filepath.Join(binDir, name), []byte(script), 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	return binDir, logFile
}

func TestRunLocal(t *testing.T) {
	requireTool(t, "curl")
	healthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	t.Cleanup(healthy.Close)
	sick := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(sick.Close)

	// SIGINT is what Ctrl-C sends under make run; systemd and kill send SIGTERM.
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run("OK/"+sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			bin, logFile := fakeBinaries(t, dir, nil)
			// Healthy only once the stand-in api has really started, as the real one is.
			apiUp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				if b, _ := os.ReadFile(logFile); !strings.Contains(string(b), "api start") {
					w.WriteHeader(http.StatusServiceUnavailable)
				}
			}))
			t.Cleanup(apiUp.Close)
			ctx, cancel := context.WithTimeout(t.Context(), scriptTimeout)
			defer cancel()
			run, lines := startRunLocal(ctx, t, dir, []string{"BIN_DIR=" + bin, "API_HEALTH_URL=" + apiUp.URL})
			lines.waitFor(ctx, t, "canistry is running")
			lines.waitFor(ctx, t, "poller started")
			lines.waitFor(ctx, t, "notifier started")
			lines.waitFor(ctx, t, "dashboard      http://[::1]:8080/") // the URLs are printed after the start
			lines.waitFor(ctx, t, "API reference  http://[::1]:8080/docs")
			lines.waitFor(ctx, t, "live page      http://[::1]:8080/test")
			lines.waitFor(ctx, t, "/system/status")
			lines.waitFor(ctx, t, ":8082")
			if err := run.signal(sig); err != nil {
				t.Errorf("after %v: %v, want exit 0\n%s", sig, err, lines.rest())
			}
			events := readLines(t, logFile)
			if len(events) != 6 || events[0] != "api start" || events[5] != "api stop" {
				t.Errorf("events = %q, want the api started first and stopped last", events)
			}
		})
	}

	for _, tt := range []struct {
		name  string
		exits map[string]string
		url   string
		want  string
	}{
		{"ErrPollerDies", map[string]string{"poller": "3"}, healthy.URL, "poller exited (status 3)"},
		{"ErrAPIDies", map[string]string{"api": "1"}, sick.URL, "api did not become healthy"},
		{"ErrAPINeverHealthy", nil, sick.URL, "api did not become healthy"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			bin, logFile := fakeBinaries(t, dir, tt.exits)
			ctx, cancel := context.WithTimeout(t.Context(), scriptTimeout)
			defer cancel()
			run, lines := startRunLocal(ctx, t, dir, []string{"BIN_DIR=" + bin, "API_HEALTH_URL=" + tt.url, "READY_TIMEOUT=1"})
			err := run.wait()
			if err == nil {
				t.Errorf("exit 0, want non-zero\n%s", lines.rest())
			}
			if out := lines.rest(); !strings.Contains(out, tt.want) {
				t.Errorf("output lacks %q:\n%s", tt.want, out)
			}
			events := readLines(t, logFile)
			if _, apiDied := tt.exits["api"]; !apiDied && events[len(events)-1] != "api stop" {
				t.Errorf("events = %q, want the api stopped last", events)
			}
		})
	}
}

func readLines(tb testing.TB, path string) []string {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}
