// Package scripts_test tests the operator scripts in this directory by running them: shellcheck,
// --help, and each script against temporary directories, fake servers, and the real binaries.
package scripts_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"canistry/pkg/lifecycle/runtest"
)

// scriptTimeout bounds every script run so that a hang fails the test instead of the suite.
const scriptTimeout = 2 * time.Minute

// requireTool skips the test when name is not installed, except in CI (CI set), where .ci/run
// installs the tools and a missing one is a failure.
func requireTool(tb testing.TB, name string) {
	tb.Helper()
	if _, err := exec.LookPath(name); err == nil {
		return
	}
	if os.Getenv("CI") != "" {
		tb.Fatalf("%s is not installed (CI is set; .ci/run should install it)", name)
	}
	tb.Skipf("%s is not installed", name)
}

// repoRoot is the checkout's top directory (tests run in scripts/).
func repoRoot(tb testing.TB) string {
	tb.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		tb.Fatal(err)
	}
	return root
}

func scriptPath(tb testing.TB, name string) string {
	tb.Helper()
	return filepath.Join(repoRoot(tb), "scripts", name)
}

// result is a finished script run.
type result struct {
	out  string // stdout and stderr, interleaved
	code int
}

// runScript runs scripts/name with args in dir, with env added to a clean environment (PATH,
// HOME, and no canistry variables from the developer's shell).
func runScript(tb testing.TB, dir string, env []string, name string, args ...string) result {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), scriptTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, scriptPath(tb, name), args...)
	cmd.Dir = dir
	cmd.Env = append(baseEnv(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return result{out: out.String()}
	case errors.As(err, &exitErr) && ctx.Err() == nil:
		return result{out: out.String(), code: exitErr.ExitCode()}
	default:
		tb.Fatalf("%s %v: %v\n%s", name, args, err, out.String())
		return result{}
	}
}

// baseEnv is a minimal environment for scripts; ENV_FILE points nowhere so that neither
// /etc/canistry/canistry.env nor a developer's .env is read.
func baseEnv() []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"LANG=C.UTF-8",
		"ENV_FILE=/nonexistent/canistry.env",
	}
}

// freePort returns a TCP port that was free on 127.0.0.1 and [::1] a moment ago.
func freePort(tb testing.TB) int {
	tb.Helper()
	return runtest.FreePort(tb, true)
}

// requireIPv6 skips the test on a host without IPv6 loopback.
func requireIPv6(tb testing.TB) {
	tb.Helper()
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		tb.Skipf("no IPv6 loopback on this host: %v", err)
	}
	ln.Close()
}

// lineWatcher collects a process's output and tells when a line containing some text appears.
type lineWatcher struct {
	mu      sync.Mutex
	lines   []string
	changed chan struct{} // one pending notification at most
	done    chan struct{} // closed at the end of the output
}

func watchLines(r io.Reader) *lineWatcher {
	w := &lineWatcher{changed: make(chan struct{}, 1), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			w.mu.Lock()
			w.lines = append(w.lines, sc.Text())
			w.mu.Unlock()
			select {
			case w.changed <- struct{}{}:
			default:
			}
		}
		_, _ = io.Copy(io.Discard, r)
	}()
	return w
}

func (w *lineWatcher) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.lines, "\n")
}

func (w *lineWatcher) contains(text string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, l := range w.lines {
		if strings.Contains(l, text) {
			return true
		}
	}
	return false
}

// waitFor waits until a line contains text; it fails the test at the context's deadline or
// when the output ends first.
func (w *lineWatcher) waitFor(ctx context.Context, tb testing.TB, text string) {
	tb.Helper()
	for !w.contains(text) {
		select {
		case <-w.changed:
		case <-w.done:
			if w.contains(text) {
				return
			}
			tb.Fatalf("output ended before %q:\n%s", text, w)
		case <-ctx.Done():
			tb.Fatalf("no %q before the deadline:\n%s", text, w)
		}
	}
}

// rest waits for the end of the output and returns all of it.
func (w *lineWatcher) rest() string {
	<-w.done
	return w.String()
}
