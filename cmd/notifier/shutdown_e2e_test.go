package main

import (
	"bufio"
	"bytes"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

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
	var mu sync.Mutex
	replies := map[uint64][][]byte{}
	var answered, refused atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			var c net.Conn
			var r *bufio.Reader
			for i := 0; ; i++ {
				select {
				case <-stop:
					if c != nil {
						c.Close()
					}
					return
				default:
				}
				if c == nil {
					var err error
					if c, err = net.DialTimeout("tcp", p.addr, time.Second); err != nil {
						refused.Add(1)
						time.Sleep(5 * time.Millisecond)
						continue
					}
					_ = c.SetDeadline(time.Now().Add(patience))
					r = bufio.NewReader(c)
				}
				key := ts + uint64((w+i)%keys)
				resp, err := runtest.RoundTrip(c, r, rawRequest(p.addr, e2eKey, solutionBody(key)))
				if err != nil {
					refused.Add(1)
					c.Close()
					c = nil
					continue
				}
				answered.Add(1)
				mu.Lock()
				replies[key] = append(replies[key], resp)
				mu.Unlock()
			}
		})
	}
	// Let every key be stored and replayed for a while, then stop the process mid-stream.
	deadline := time.Now().Add(patience)
	for answered.Load() < 2000 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	before := answered.Load()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Wait(); err != nil {
		t.Errorf("notifier exited with %v", err)
	}
	close(stop)
	wg.Wait()

	for key, rs := range replies {
		want := rs[0]
		for i, r := range rs {
			if !bytes.Equal(r, want) {
				t.Fatalf("key %d: reply %d of %d differs:\n%q\nvs the first:\n%q", key, i, len(rs), r, want)
			}
		}
		if !bytes.HasPrefix(want, []byte("HTTP/1.1 200 OK\r\n")) || bytes.Contains(bytes.ToLower(want), []byte("connection:")) {
			t.Errorf("key %d: reply %q", key, want)
		}
	}
	after := answered.Load() - before
	t.Logf("%d replies (%d after SIGTERM), all identical per key; %d copies refused at the TCP level", answered.Load(), after, refused.Load())
	if len(replies) != keys {
		t.Errorf("%d keys answered, want %d", len(replies), keys)
	}
}
