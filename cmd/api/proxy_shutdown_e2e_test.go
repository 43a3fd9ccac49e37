package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"canistry/pkg/lifecycle/runtest"
)

// TestProxy_StormAcrossAPISIGTERM sends outcall copies through the api's proxy to the notifier
// (the real binaries) over keep-alive HTTP/1.1 connections and stops the api with SIGTERM in
// the middle. Every reply that arrives must be byte-identical to its key's first reply: the
// api's drain adds no Connection: close and the proxy passes the notifier's bytes unchanged.
// Copies refused at the TCP level are allowed.
func TestProxy_StormAcrossAPISIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binaries")
	}
	bin := buildBinaries(t)
	apiAddr, notifierAddr, natsAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	const key = "notify-key-0123456789"
	env := append(os.Environ(), "DATA_DIR="+t.TempDir(), "API_ADDR="+apiAddr, "NOTIFIER_ADDR="+notifierAddr,
		"NOTIFIER_URL=http://"+notifierAddr, "NATS_URL=nats://"+natsAddr, "NATS_TOKEN=test-token-0123456789",
		"NOTIFY_API_KEYS="+key, "HEARTBEAT_INTERVAL=200ms")
	api := startBin(t, bin, "api", env)
	startBin(t, bin, "notifier", env)
	waitFor(t, "the notifier through the api's proxy", func() bool { return httpStatus("http://"+apiAddr+"/ws-status") == 200 })

	const keys, workers = 30, 16
	ts := uint64(1_700_000_000_000_000_000)
	body := func(k uint64) []byte {
		return fmt.Appendf(nil, `{"event":"solution_found","miner_id":"ryjl3-tyaaa-aaaaa-aaaba-cai","timestamp":%d,"data":{}}`, k)
	}
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
					if c, err = net.DialTimeout("tcp", apiAddr, time.Second); err != nil {
						refused.Add(1)
						time.Sleep(5 * time.Millisecond)
						continue
					}
					_ = c.SetDeadline(time.Now().Add(30 * time.Second))
					r = bufio.NewReader(c)
				}
				k := ts + uint64((w+i)%keys)
				b := body(k)
				req := fmt.Appendf(nil, "POST /miner-notifications HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"+
					"X-API-Key: %s\r\nContent-Length: %d\r\n\r\n%s", apiAddr, key, len(b), b)
				resp, err := runtest.RoundTrip(c, r, req)
				if err != nil {
					refused.Add(1)
					c.Close()
					c = nil
					continue
				}
				answered.Add(1)
				mu.Lock()
				replies[k] = append(replies[k], resp)
				mu.Unlock()
			}
		})
	}
	waitFor(t, "1,000 replies through the proxy", func() bool { return answered.Load() >= 1000 })
	before := answered.Load()
	api.stop(t)
	close(stop)
	wg.Wait()

	for k, rs := range replies {
		for i, r := range rs {
			if !bytes.Equal(r, rs[0]) {
				t.Fatalf("key %d: reply %d of %d differs:\n%q\nvs the first:\n%q", k, i, len(rs), r, rs[0])
			}
		}
		if !bytes.HasPrefix(rs[0], []byte("HTTP/1.1 200 OK\r\n")) || bytes.Contains(bytes.ToLower(rs[0]), []byte("connection:")) ||
			bytes.Contains(bytes.ToLower(rs[0]), []byte("date:")) {
			t.Errorf("key %d: reply %q", k, rs[0])
		}
	}
	t.Logf("%d replies through the proxy (%d after SIGTERM), identical per key; %d copies refused at the TCP level",
		answered.Load(), answered.Load()-before, refused.Load())
}
