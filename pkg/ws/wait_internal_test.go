package ws

import (
	"testing"
	"time"
)

// patience bounds every wait of the package's tests.
const patience = 20 * time.Second

// waitFor checks cond every millisecond until it holds, failing the test after patience.
// The external tests call it as WaitFor (export_test.go).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(patience)
	defer deadline.Stop()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}
