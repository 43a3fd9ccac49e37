package notify_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"canistry/pkg/internal/testclock"
	"canistry/pkg/registry"
)

// TestIntake_CopyForensics is issue 21 §3 in the intake: 13 copies of one outcall, over two
// notifiers behind a trusted proxy (loopback, X-Forwarded-For), from 9 IPv6 replicas and 4
// IPv4 fallbacks through two boundary-node proxies (one written IPv4-mapped), two of them with
// another body, are recorded with their family, source and body; the copy histograms observe
// the outcall once, when its window ends, and a one-copy outcall is observed like any other.
func TestIntake_CopyForensics(t *testing.T) {
	sh := newShared(t)
	clk := testclock.New(time.UnixMilli(1_700_000_000_000))
	regs := []*prometheus.Registry{prometheus.NewRegistry(), prometheus.NewRegistry()}
	a := newInstance(t, sh, opts{clock: clk, metrics: regs[0]})
	b := newInstance(t, sh, opts{clock: clk, metrics: regs[1]})
	ts := uint64(1_700_000_000_000_000_000)
	sources := []string{"2001:db8::1", "2001:db8::2", "2001:db8::3", "2001:db8::4", "2001:db8::5", "2001:db8::6",
		"2001:db8::7", "2001:db8::8", "2001:db8::9", "192.0.2.10", "::ffff:192.0.2.10", "198.51.100.20", "198.51.100.20"}
	first := send1(t, a.addr, "forensics", sources[0], solution(ts))
	for i, src := range sources[1:] {
		clk.Advance(100 * time.Millisecond)
		body := solution(ts)
		if i >= 10 { // the last two copies: a replica that saw other data
			body = notification(registry.EventSolutionFound, ts, `{"token_id":"`+tokenID+`","ticker":"OTHER"}`)
		}
		if r := send1(t, []string{a.addr, b.addr}[i%2], "forensics", src, body); r != first {
			t.Fatalf("copy %d: %q, want %q", i+1, r, first)
		}
	}
	single := send1(t, b.addr, "single", "2001:db8::99", solution(ts+1)) // a non-replicated outcall
	for _, in := range []*instance{a, b} {
		if err := in.intake.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	n := stored(t, a, "idem:forensics")
	f, err := a.store.NotificationForensics(t.Context(), n.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(f.Recorded, f.ByFamily, f.DistinctSources, f.Spread, len(f.BodyGroups), f.BodyGroups[0].Count, f.BodyGroups[1].Count),
		fmt.Sprint(13, map[string]int{"ipv4": 4, "ipv6": 9}, 11, 1200*time.Millisecond, 2, 11, 2); got != want || !n.Diverged || single == "" {
		t.Errorf("forensics %s, want %s (diverged %v)", got, want, n.Diverged)
	}
	clk.Advance(10 * time.Minute) // past both windows
	for _, in := range []*instance{a, b} {
		in.intake.Sweep(t.Context())
	}
	count, sum := histogram(t, regs, "canistry_notify_copies_per_outcall")
	if count != 2 || sum != 14 {
		t.Errorf("copies per outcall: %d observations summing %g, want 2 (13 copies and 1)", count, sum)
	}
	if count, sum := histogram(t, regs, "canistry_notify_copy_spread_seconds"); count != 2 || sum != 1.2 {
		t.Errorf("spread: %d observations summing %g, want 2 (1.2 s and 0)", count, sum)
	}
}

// send1 sends one copy, from source as a trusted proxy names it, with Idempotency-Key key
// (so that copies of one key may differ), and returns the reply.
func send1(t *testing.T, addr, key, source string, body []byte) string {
	t.Helper()
	r, err := send(addr, rawRequest(addr, jsonHeaders("Idempotency-Key", key, "X-Forwarded-For", source), body))
	if err != nil {
		t.Fatal(err)
	}
	return string(r)
}

// histogram sums a histogram's sample count and sum over registries.
func histogram(t *testing.T, regs []*prometheus.Registry, name string) (uint64, float64) {
	t.Helper()
	var count uint64
	var sum float64
	for _, reg := range regs {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == name {
				h := mf.GetMetric()[0].GetHistogram()
				count, sum = count+h.GetSampleCount(), sum+h.GetSampleSum()
			}
		}
	}
	return count, sum
}
