package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"canistry/pkg/lifecycle/runtest"
)

// TestWSClient_Node runs the tests of the JavaScript client of /ws (pkg/ws/client,
// client.test.mjs) with node --test against this notifier as a real binary: the node tests
// start it, kill it (-9) and restart it on one port and check that the client delivers every
// event once and in order across the restart, calls onReset when the database was recreated
// (a new epoch), and stays closed after close(). ws, the WebSocket for Node 20, is pinned in
// the directory's package-lock.json and installed by npm ci. In CI a missing node or npm fails.
func TestWSClient_Node(t *testing.T) {
	dir, err := filepath.Abs(filepath.Join("..", "..", "pkg", "ws", "client"))
	if err != nil {
		t.Fatal(err)
	}
	node := runtest.NodePackages(t, dir)
	cmd := exec.CommandContext(t.Context(), node, "--test", "--test-reporter=spec", "--test-timeout=120000", "client.test.mjs")
	cmd.Dir = dir
	cmd.WaitDelay = time.Second // a notifier left behind must not hold the test on node's output
	cmd.Env = append(os.Environ(), "NOTIFIER_BIN="+buildNotifier(t), "NATS_URL="+startNATS(t))
	t.Log(runtest.Run(t, cmd))
}
