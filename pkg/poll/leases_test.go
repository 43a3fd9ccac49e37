package poll_test

import (
	"sync"
	"testing"
	"time"

	"canistry/pkg/ic"
	"canistry/pkg/ic/ictest"
	"canistry/pkg/poll"
	"canistry/pkg/registry"
	"canistry/pkg/store"
)

// TestPoller_TwoPollersOneSweep runs two pollers (each with its own connections to one
// database file, as two processes or hosts) sweeping the same due canisters at the same time:
// every canister is read exactly once between them, round after round.
func TestPoller_TwoPollersOneSweep(t *testing.T) {
	f := newFixture(t, func(c *poll.Config) { c.Instance = "poller-a" })
	const n = 40
	for i := range n {
		p := principalN(uint64(1000 + i))
		f.double.AddCanister(p, hash32(byte(i)), principalN(100))
		if _, err := f.store.CreateCanister(t.Context(), registry.Canister{ID: idOf(p), Kind: registry.KindOther}); err != nil {
			t.Fatal(err)
		}
	}
	st2, err := store.Open(t.Context(), f.store.Path())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st2.Close() })
	client, err := poll.NewClient(t.Context(), ic.Config{URL: f.double.URL(), FetchRootKey: true, VerifyQuerySignatures: true}, 0)
	if err != nil {
		t.Fatal(err)
	}
	second, err := poll.New(poll.Config{Schedule: "@every 1m", Concurrency: 4, Timeout: 30 * time.Second, Spread: -1,
		Now: f.clock.Now, Instance: "poller-b"}, st2, client, f.connect("poller-b"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = second.Stop(t.Context()) })

	for round := range 3 {
		f.clock.Advance(time.Minute)
		// Canister read_states only: the ["subnet"] read of the node keys (for the public status
		// queries) is not a canister's.
		canisterReads := func() int64 {
			return f.double.Requests(ictest.RequestReadState) - f.double.Requests(ictest.RequestSubnetState)
		}
		before := canisterReads()
		var wg sync.WaitGroup
		results := make([]poll.SweepResult, 2)
		for i, p := range []*poll.Poller{f.poller, second} {
			wg.Go(func() {
				res, err := p.Sweep(t.Context())
				if err != nil {
					t.Error(err)
				}
				results[i] = res
			})
		}
		wg.Wait()
		if got := results[0].Refreshed + results[1].Refreshed; got != n || results[0].Due+results[1].Due != n {
			t.Errorf("round %d: refreshed %d (a %+v, b %+v), want each of %d once", round, got, results[0], results[1], n)
		}
		if got := canisterReads() - before; got != n {
			t.Errorf("round %d: %d read_state requests for %d canisters: some were read twice", round, got, n)
		}
	}
}
