package runtest

import (
	"testing"
	"time"
)

// Patience bounds every wait of these helpers: a guard against hangs, never an assertion about
// speed.
const Patience = 30 * time.Second

// WaitFor checks cond every millisecond until it holds, and fails tb if it still does not after
// Patience.
func WaitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.NewTimer(Patience)
	defer deadline.Stop()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			tb.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}
