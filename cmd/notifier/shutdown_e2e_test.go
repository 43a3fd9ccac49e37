package main

import (
	"fmt"
	"syscall"
	"testing"

	"canistry/pkg/lifecycle/runtest"
)

// TestIntake_StormAcrossSIGTERM runs the real notifier binary, keeps copies of many outcalls
// coming over keep-alive HTTP/1.1 connections, and sends SIGTERM in the middle, as systemd
// does on a restart. Every reply that arrives, before, during or after the drain, must be the
// same bytes as the steady-state reply of its key: no Connection: close, no other header that
// depends on the server's lifecycle. A copy may instead be refused at the TCP level
// (connection refused, reset or closed before a reply), which the replica treats as a failed
// outcall on that one node.
func TestIntake_StormAcrossSIGTERM(t *testing.T) {
	bin := buildNotifier(t)
	natsURL := startNATS(t)
	env := notifierEnv(t.TempDir(), natsURL)
	p := startProcess(t, bin, env)

	const keys, workers = 40, 24
	ts := uint64(1_700_000_000_000_000_000)
	storm := runtest.StartStorm(p.addr, workers, func(w, i int) (string, []byte) {
		key := ts + uint64((w+i)%keys)
		return fmt.Sprint(key), rawRequest(p.addr, e2eKey, solutionBody(key))
	})
	// Let every key be stored and replayed for a while, then stop the process mid-stream.
	runtest.WaitFor(t, "2,000 replies before SIGTERM", func() bool { return storm.Answered() >= 2000 })
	before := storm.Answered()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Wait(); err != nil {
		t.Errorf("notifier exited with %v", err)
	}
	after := storm.Answered() - before
	replies, refused := storm.Stop()
	runtest.CheckIdenticalPerKey(t, replies)
	t.Logf("%d replies (%d after SIGTERM), all identical per key; %d copies refused at the TCP level", before+after, after, refused)
	if len(replies) != keys {
		t.Errorf("%d keys answered, want %d", len(replies), keys)
	}
}
