package notify_test

import (
	"bytes"
	"testing"
	"time"

	"canistry/pkg/config"
	"canistry/pkg/internal/testclock"
	"canistry/pkg/notify"
	"canistry/pkg/registry"
)

// TestIntake_OutcallWindow is issue 21 §2: a slow replica's copy can arrive up to the IC's
// outcall adapter timeout (150 s) after the first; with DEDUP_WINDOW at its minimum, such a copy
// gets the first copy's reply, 200 or the stored 429, from either notifier, although the rate
// limit's tokens have long refilled. At config.OutcallWindow the key is decided anew.
func TestIntake_OutcallWindow(t *testing.T) {
	limits := notify.Limits{PerKey: 1000, PerKeyBurst: 1000, PerMiner: 5, PerMinerBurst: 1} // one token per 200 ms
	ts := uint64(1_700_000_000_000_000_000)
	for _, tc := range []struct {
		name   string
		status string
		spend  bool // spend the miner's token first, so that the key is refused
	}{{"Accepted", "200 OK", false}, {"Refused", "429 Too Many Requests", true}} {
		t.Run(tc.name, func(t *testing.T) {
			sh := newShared(t)
			clk := testclock.New(time.UnixMilli(1_700_000_000_000))
			a := newInstance(t, sh, opts{clock: clk, limits: limits, window: config.OutcallWindow})
			b := newInstance(t, sh, opts{clock: clk, limits: limits, window: config.OutcallWindow})
			if tc.spend {
				if r, _ := send(a.addr, rawRequest(a.addr, jsonHeaders(), solution(ts))); !bytes.HasPrefix(r, []byte("HTTP/1.1 200")) {
					t.Fatalf("spending the token: %q", r)
				}
			}
			start := clk.Now()
			first, err := send(a.addr, rawRequest(a.addr, jsonHeaders(), solution(ts+1)))
			if err != nil {
				t.Fatal(err)
			}
			resps := [][]byte{first}
			for i, at := range []time.Duration{61 * time.Second, 90 * time.Second, config.OutcallDeadline,
				config.OutcallAdapterTimeout, config.OutcallWindow - time.Millisecond} {
				clk.Advance(start.Add(at).Sub(clk.Now()))
				addr := []string{a.addr, b.addr}[i%2]
				r, err := send(addr, rawRequest(addr, jsonHeaders(), solution(ts+1)))
				if err != nil {
					t.Fatal(err)
				}
				resps = append(resps, r)
			}
			checkIdentical(t, resps, tc.status)
			// At the window's end the same key (the canister's own retry) is decided anew.
			clk.Advance(start.Add(config.OutcallWindow).Sub(clk.Now()))
			r, err := send(b.addr, rawRequest(b.addr, jsonHeaders(), solution(ts+1)))
			if err != nil || !bytes.HasPrefix(r, []byte("HTTP/1.1 200 ")) {
				t.Fatalf("after the window: %q %v", r, err)
			}
			if n := stored(t, b, keyOf(ts+1, registry.EventSolutionFound)); n.Copies != 1 || !n.ReceivedAt.Equal(start.Add(config.OutcallWindow)) {
				t.Errorf("after the window: copies %d received %s, want a new notification", n.Copies, n.ReceivedAt)
			}
		})
	}
}
