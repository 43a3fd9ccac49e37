package main

import (
	"testing"
	"time"

	"canistry/pkg/relay/relaytest"
)

// TestRateLimits_FromEnvironment: the intake's and the relay's rate limits come from the
// environment (NOTIFY_RATE_PER_MINER, NOTIFY_BURST_PER_MINER, RELAY_RATE, RELAY_BURST) through
// the real binary. With a burst of 2 and a rate too slow to refill during the test, a miner's
// third new notification and a caller's third new relay call are refused: every copy gets the
// same 429, and copies of an admitted key never spend a token.
func TestRateLimits_FromEnvironment(t *testing.T) {
	bin := buildNotifier(t)
	up := relaytest.New(false)
	t.Cleanup(up.Close)
	env := relayEnv(t, "", up.URL, "")
	env["NOTIFY_RATE_PER_MINER"], env["NOTIFY_BURST_PER_MINER"] = "0.001", "2"
	env["RELAY_RATE"], env["RELAY_BURST"] = "0.001", "2"
	n := startRelayNode(t, bin, env)
	addrs := []string{n.addr}

	ts := uint64(1_700_000_000_000_000_000)
	for i, want := range []string{"200 OK", "200 OK", "429 Too Many Requests"} {
		checkIdentical(t, storm(t, addrs, e2eKey, solutionBody(ts+uint64(i)), 13), want)
	}
	// A copy of an admitted notification is still answered 200 after the bucket is empty.
	checkIdentical(t, storm(t, addrs, e2eKey, solutionBody(ts), 13), "200 OK")

	for i, want := range []string{"200 OK", "200 OK", "429 Too Many Requests"} {
		req := relayRequest("POST", "/relay/api/echo?n="+string(rune('a'+i)), "", `{}`)
		sameBytes(t, relayStorm(t, addrs, 13, time.Minute, req), want)
	}
	if got := up.Calls("POST /echo"); got != 2 {
		t.Errorf("%d upstream calls, want 2 (the third over RELAY_BURST)", got)
	}
}
