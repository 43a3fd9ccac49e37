package main

import (
	"fmt"
	"os"
	"testing"

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
	const key = "notify-key-0123456789"
	apiAddr, api, _ := startBehindAPI(t, key, "HEARTBEAT_INTERVAL=200ms")

	const keys, workers = 30, 16
	ts := uint64(1_700_000_000_000_000_000)
	storm := runtest.StartStorm(apiAddr, workers, func(w, i int) (string, []byte) {
		k := ts + uint64((w+i)%keys)
		b := fmt.Appendf(nil, `{"event":"solution_found","miner_id":"ryjl3-tyaaa-aaaaa-aaaba-cai","timestamp":%d,"data":{}}`, k)
		return fmt.Sprint(k), fmt.Appendf(nil, "POST /miner-notifications HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"+
			"X-API-Key: %s\r\nContent-Length: %d\r\n\r\n%s", apiAddr, key, len(b), b)
	})
	waitFor(t, "1,000 replies through the proxy", func() bool { return storm.Answered() >= 1000 })
	before := storm.Answered()
	api.stop(t)
	total := storm.Answered()
	replies, refused := storm.Stop()
	runtest.CheckIdenticalPerKey(t, replies)
	t.Logf("%d replies through the proxy (%d after SIGTERM), identical per key; %d copies refused at the TCP level",
		total, total-before, refused)
}

// startBehindAPI builds the binaries and runs an api and a notifier on one fresh data dir, the
// api proxying the notifier's routes, with NOTIFY_API_KEYS=key and the extra environment, and
// waits until the notifier answers through the api. It returns the api's address.
func startBehindAPI(t *testing.T, key string, extra ...string) (string, *binProc, *binProc) {
	t.Helper()
	bin := buildBinaries(t)
	apiAddr, notifierAddr, natsAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	env := append(os.Environ(), "DATA_DIR="+t.TempDir(), "API_ADDR="+apiAddr, "NOTIFIER_ADDR="+notifierAddr,
		"NOTIFIER_URL=http://"+notifierAddr, "NATS_URL=nats://"+natsAddr, "NATS_TOKEN=test-token-0123456789",
		"NOTIFY_API_KEYS="+key)
	env = append(env, extra...)
	api, notifier := startBin(t, bin, "api", env), startBin(t, bin, "notifier", env)
	waitFor(t, "the notifier through the api's proxy", func() bool { return httpStatus("http://"+apiAddr+"/ws-status") == 200 })
	return apiAddr, api, notifier
}
