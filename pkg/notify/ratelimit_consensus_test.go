package notify_test

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"canistry/pkg/config"
	"canistry/pkg/internal/testclock"
	"canistry/pkg/notify"
	"canistry/pkg/registry"
)

// TestIntake_RateLimitConsensus: once a key is refused for its rate limit, every copy of it gets
// the same 429, whichever notifier answers and even after the bucket refills, for the whole
// refusal hold; a retry after the hold is decided anew. All at the raw-TCP level.
func TestIntake_RateLimitConsensus(t *testing.T) {
	limits := notify.Limits{PerKey: 1000, PerKeyBurst: 1000, PerMiner: 5, PerMinerBurst: 1} // one token per 200 ms
	ts := uint64(1_700_000_000_000_000_000)
	for _, tc := range []struct {
		name      string
		instances int
	}{{"OneNotifier", 1}, {"TwoNotifiers", 2}} {
		t.Run(tc.name, func(t *testing.T) {
			sh := newShared(t)
			clk := testclock.New(time.UnixMilli(1_700_000_000_000))
			var addrs []string
			var inst0 *instance
			for i := range tc.instances {
				in := newInstance(t, sh, opts{clock: clk, limits: limits})
				addrs = append(addrs, in.addr)
				if i == 0 {
					inst0 = in
				}
			}
			// Spend instance 0's only token; a second instance still has its own.
			if r, _ := send(addrs[0], rawRequest(addrs[0], jsonHeaders(), solution(ts))); !bytes.HasPrefix(r, []byte("HTTP/1.1 200")) {
				t.Fatalf("spending the token: %q", r)
			}
			// 13 copies of a new notification, 200 ms apart (the bucket refills meanwhile), the
			// first to the empty bucket, the rest alternating between notifiers.
			var resps [][]byte
			for i := range 13 {
				addr := addrs[i%len(addrs)]
				r, err := send(addr, rawRequest(addr, jsonHeaders(), solution(ts+1)))
				if err != nil {
					t.Fatal(err)
				}
				resps = append(resps, r)
				clk.Advance(200 * time.Millisecond)
			}
			checkIdentical(t, resps, "429 Too Many Requests")
			if n := rowCount(t, inst0.store); n != 1 {
				t.Errorf("%d rows, want only the first notification", n)
			}
			// Until the hold ends (config.OutcallWindow after the refusal) copies are still refused.
			clk.Advance(config.OutcallWindow - 5*time.Second - 13*200*time.Millisecond)
			r, _ := send(addrs[len(addrs)-1], rawRequest(addrs[len(addrs)-1], jsonHeaders(), solution(ts+1)))
			if !bytes.Equal(r, resps[0]) {
				t.Errorf("copy within the hold: %q, want the refusal", r)
			}
			// After the hold the canister's retry of the same key is a new decision, with tokens.
			clk.Advance(6 * time.Second)
			retry := storm(t, addrs, func(addr string, _ int) []byte { return rawRequest(addr, jsonHeaders(), solution(ts+1)) }, 13)
			checkIdentical(t, retry, "200 OK")
			if !bytes.HasSuffix(retry[0], []byte(acceptedBody(keyOf(ts+1, registry.EventSolutionFound)))) {
				t.Errorf("retry after the hold: %q", retry[0])
			}
		})
	}
}

// TestIntake_RateLimitStormsAtTheEdge runs many concurrent 13-copy storms of distinct keys
// across two notifiers while the clock moves and the buckets hover around empty: each storm's
// copies are all 200 or all 429, never mixed, and exactly the 200 storms are stored. A wave
// can legitimately admit none: a notifier may spend a token on a key that the other one refused
// first (its copy then gets the stored refusal), so with 6 tokens among 40 racing storms every
// token can go that way. Waves of new keys run until one both admits and refuses (at most 5).
func TestIntake_RateLimitStormsAtTheEdge(t *testing.T) {
	sh := newShared(t)
	clk := testclock.New(time.UnixMilli(1_700_000_000_000))
	limits := notify.Limits{PerKey: 1000, PerKeyBurst: 1000, PerMiner: 20, PerMinerBurst: 3}
	a := newInstance(t, sh, opts{clock: clk, limits: limits})
	b := newInstance(t, sh, opts{clock: clk, limits: limits})
	addrs := []string{a.addr, b.addr}
	const storms = 40
	total := 0 // accepted storms over all waves
	for wave := range 5 {
		ts := uint64(1_700_000_000_000_000_000) + uint64(wave*storms)
		results := make([][][]byte, storms)
		var wg sync.WaitGroup
		for s := range storms {
			wg.Go(func() {
				results[s] = stormNoFatal(addrs, func(addr string, _ int) []byte {
					// The buckets refill while the copies arrive: 520 copies move the clock 520 ms,
					// about 10 tokens, far fewer than the 40 storms need.
					clk.Advance(time.Millisecond)
					return rawRequest(addr, jsonHeaders(), solution(ts+uint64(s)))
				}, 13)
			})
		}
		wg.Wait()
		accepted, refused := 0, 0
		for s, resps := range results {
			for i, r := range resps {
				if !bytes.Equal(r, resps[0]) {
					t.Fatalf("wave %d, storm %d: copy %d differs:\n%q\nvs copy 0:\n%q", wave, s, i, r, resps[0])
				}
			}
			switch {
			case bytes.HasPrefix(resps[0], []byte("HTTP/1.1 200 ")):
				accepted++
				stored(t, a, keyOf(ts+uint64(s), registry.EventSolutionFound))
			case bytes.HasPrefix(resps[0], []byte("HTTP/1.1 429 ")):
				refused++
			default:
				t.Fatalf("wave %d, storm %d: %q", wave, s, resps[0])
			}
		}
		total += accepted
		if n := rowCount(t, a.store); n != int64(total) {
			t.Fatalf("wave %d: %d rows for %d accepted storms", wave, n, total)
		}
		t.Logf("wave %d: %d accepted, %d refused, all copies identical within each", wave, accepted, refused)
		if accepted > 0 && refused > 0 {
			return
		}
		clk.Advance(time.Second) // the buckets refill before the next wave
	}
	t.Error("no wave of storms both admitted and refused: the storms never reached the edge of the limit")
}

// stormNoFatal is storm for use off the test goroutine: a failed copy becomes its error text,
// which then differs from the other copies and fails the comparison.
func stormNoFatal(addrs []string, reqFor func(addr string, i int) []byte, n int) [][]byte {
	out := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			addr := addrs[i%len(addrs)]
			r, err := send(addr, reqFor(addr, i))
			if err != nil {
				r = fmt.Appendf(nil, "error: %v", err)
			}
			out[i] = r
		})
	}
	wg.Wait()
	return out
}
