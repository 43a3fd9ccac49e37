package runtest

import (
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// BuildBinaries compiles cmd/api, cmd/notifier and cmd/poller into a temporary directory and
// returns it: for tests that run the real binaries as their own processes.
func BuildBinaries(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	for _, b := range []string{"api", "notifier", "poller"} {
		cmd := exec.CommandContext(tb.Context(), "go", "build", "-o", filepath.Join(dir, b), "canistry/cmd/"+b)
		Run(tb, cmd)
	}
	return dir
}

// Binary is a canistry binary running as its own process.
type Binary struct {
	Name string
	cmd  *exec.Cmd
	log  *syncBuffer
	done chan struct{}
}

// StartBinary runs dir/name with exactly env (no .env file is read) and kills it at cleanup if
// the test did not stop it.
func StartBinary(tb testing.TB, dir, name string, env []string) *Binary {
	tb.Helper()
	b := &Binary{Name: name, log: &syncBuffer{}, done: make(chan struct{})}
	b.cmd = exec.Command(filepath.Join(dir, name), "-env-file", "")
	b.cmd.Env = env
	b.cmd.Stdout, b.cmd.Stderr = b.log, b.log
	if err := b.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	go func() { _ = b.cmd.Wait(); close(b.done) }()
	tb.Cleanup(func() {
		_ = b.cmd.Process.Kill()
		<-b.done
		if tb.Failed() {
			tb.Logf("%s log:\n%s", name, b.log.String())
		}
	})
	return b
}

// Stop sends SIGTERM, as systemd does, and waits for the exit; it fails tb when the process
// does not exit cleanly within Patience.
func (b *Binary) Stop(tb testing.TB) {
	tb.Helper()
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.done:
	case <-time.After(Patience):
		tb.Fatalf("%s did not stop within %s of SIGTERM", b.Name, Patience)
	}
	if code := b.cmd.ProcessState.ExitCode(); code != 0 {
		tb.Errorf("%s exited with %d:\n%s", b.Name, code, b.log.String())
	}
}

// Log returns what the process wrote so far.
func (b *Binary) Log() string { return b.log.String() }
