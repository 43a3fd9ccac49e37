package webhook_test

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"

	"canistry/pkg/lifecycle/runtest"
)

// delivery is one verified request as the receiver printed it.
type delivery struct {
	ID   string          `json:"id"`
	Body json.RawMessage `json:"body"`
}

// receiver is receiver/receiver.mjs, a node process that checks every request with the
// Standard Webhooks reference implementation (npm standardwebhooks). It can be killed and
// started again on the same port; what it received survives.
type receiver struct {
	t      *testing.T
	node   string
	port   int
	secret string

	mu   sync.Mutex
	got  []delivery
	bad  []string
	cmd  *exec.Cmd
	done chan struct{}
}

// startReceiver installs the pinned package (npm ci, once) and starts the receiver on port.
// In CI (CI set) a missing node or npm, or an unreachable npm registry, fails the test;
// elsewhere it skips.
func startReceiver(t *testing.T, port int, secret string) *receiver {
	t.Helper()
	node := runtest.NodePackages(t, "receiver") // package-lock.json pins every package
	r := &receiver{t: t, node: node, port: port, secret: secret}
	r.start()
	t.Cleanup(r.kill)
	return r
}

func (r *receiver) start() {
	r.t.Helper()
	cmd := exec.Command(r.node, "receiver.mjs")
	cmd.Dir = "receiver"
	cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(r.port), "WEBHOOK_SECRET="+r.secret)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		r.t.Fatal(err)
	}
	ready, readyW, err := os.Pipe()
	if err != nil {
		r.t.Fatal(err)
	}
	defer ready.Close()
	cmd.ExtraFiles = []*os.File{readyW} // fd 3: the receiver writes a line once it listens
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	readyW.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var line struct {
				delivery
				Bad *string `json:"bad"`
			}
			if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
				continue
			}
			r.mu.Lock()
			if line.Bad != nil {
				r.bad = append(r.bad, *line.Bad)
			} else {
				r.got = append(r.got, line.delivery)
			}
			r.mu.Unlock()
		}
	}()
	r.mu.Lock()
	r.cmd, r.done = cmd, done
	r.mu.Unlock()
	// The ready pipe yields a byte once the receiver listens, or end of file if it exits first.
	if n, _ := ready.Read(make([]byte, 1)); n == 0 {
		<-done
		_ = cmd.Wait()
		r.t.Fatalf("the receiver exited before it listened on port %d", r.port)
	}
}

// kill stops the process (SIGKILL) and waits for it; what it received stays.
func (r *receiver) kill() {
	r.mu.Lock()
	cmd, done := r.cmd, r.done
	r.cmd = nil
	r.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-done
	_ = cmd.Wait()
}

// deliveries returns what was received (verified), in arrival order, and the refused requests.
func (r *receiver) deliveries() ([]delivery, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...), append([]string(nil), r.bad...)
}

// distinct returns the number of different webhook-ids received.
func (r *receiver) distinct() int {
	got, _ := r.deliveries()
	seen := map[string]bool{}
	for _, d := range got {
		seen[d.ID] = true
	}
	return len(seen)
}
