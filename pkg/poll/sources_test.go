package poll_test

import (
	"math/big"
	"testing"
	"time"

	"github.com/aviate-labs/agent-go/principal"

	"canistry/pkg/ic"
	"canistry/pkg/ic/ictest"
	"canistry/pkg/poll"
	"canistry/pkg/registry"
)

// TestPoller_CyclesSources: every canister that allows it gets cycles points, each with its
// source: the public status query, the blackhole, the SNS root's summary (one call for the DAO
// per sweep). A canister whose status is private costs one refused query, then none until a
// day later, and that survives a restart (a new poller on the same database).
func TestPoller_CyclesSources(t *testing.T) {
	f := newFixture(t, nil)
	ctx := t.Context()
	hole, bh := f.installBlackhole(t)
	status := func(n int64) ictest.CanisterStatus {
		return ictest.CanisterStatus{Cycles: big.NewInt(n), MemorySize: big.NewInt(1), IdleCyclesBurnedPerDay: big.NewInt(10)}
	}
	pub, priv, holed := principalN(1), principalN(2), principalN(3)
	f.double.AddCanister(pub, hash32(1), principalN(100)).SetStatus(status(1000))
	f.double.Canister(pub).SetStatusPublic(true)
	f.double.AddCanister(priv, hash32(2), principalN(100)).SetStatus(status(2000))
	f.double.AddCanister(holed, hash32(3), hole)
	bh.SetStatus(holed, status(3000))
	ids := ictest.SNSSummaryIDs{Root: principalN(10), Governance: principalN(11), Ledger: principalN(12)}
	root := f.double.AddCanister(ids.Root, hash32(10), ids.Governance)
	f.double.AddCanister(ids.Governance, hash32(11), ids.Root)
	f.double.AddCanister(ids.Ledger, hash32(12), ids.Root)
	for i, p := range []principal.Principal{ids.Root, ids.Governance, ids.Ledger} {
		f.double.Canister(p).SetStatus(status(int64(4000 + i)))
	}
	f.double.InstallSNSSummary(root, func() ictest.SNSSummaryIDs { return ids })
	for _, p := range []principal.Principal{pub, priv, holed} {
		f.register(idOf(p), registry.KindOther)
	}
	for _, p := range []principal.Principal{ids.Root, ids.Governance, ids.Ledger} {
		if _, err := f.store.CreateCanister(ctx, registry.Canister{ID: idOf(p), Kind: registry.KindOther,
			Tags: []string{registry.SNSTagPrefix + string(idOf(ids.Root))}}); err != nil {
			t.Fatal(err)
		}
	}
	queries, calls := f.counter(ictest.RequestQuery), f.counter(ictest.RequestCall)

	f.sweep()
	want := map[registry.CanisterID]struct{ cycles, source string }{
		idOf(pub): {"1000", registry.CyclesPublicStatus}, idOf(holed): {"3000", registry.CyclesBlackhole},
		idOf(ids.Root): {"4000", registry.CyclesSNSRoot}, idOf(ids.Governance): {"4001", registry.CyclesSNSRoot},
		idOf(ids.Ledger): {"4002", registry.CyclesSNSRoot},
	}
	for id, w := range want {
		got := f.cyclesSeries(id)
		if len(got) != 1 || got[0].Cycles != w.cycles || got[0].Source != w.source || got[0].RunwayDays() == "" {
			t.Errorf("%s: series %+v, want %s from %s", id, got, w.cycles, w.source)
		}
	}
	if got := f.cyclesSeries(idOf(priv)); len(got) != 0 {
		t.Errorf("private canister has %d points", len(got))
	}
	// Queries: the public and the private status (the canisters are of kind other: nothing
	// else); calls: the blackhole and one summary for the three SNS canisters.
	if q, c := queries(), calls(); q != 2 || c != 2 {
		t.Errorf("first sweep: %d queries, %d calls; want 2 and 2", q, c)
	}
	retry := f.canister(idOf(priv)).StatusRetryAt
	if retry == nil || !retry.Equal(f.clock.Now().Add(registry.StatusPrivateRetry)) {
		t.Fatalf("private canister retry at %v, want a day on", retry)
	}

	// The next sweeps skip the private canister; so does a new poller on the same database.
	f.clock.Advance(time.Minute)
	f.sweep()
	if q, c := queries(), calls(); q != 1 || c != 2 {
		t.Errorf("second sweep: %d queries, %d calls; want 1 (public) and 2", q, c)
	}
	restarted := f.newPoller()
	f.clock.Advance(time.Minute)
	if _, err := restarted.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if q := queries(); q != 1 {
		t.Errorf("after a restart: %d queries, want 1 (the private canister waits)", q)
	}
	// A day on, it is asked again, now public: its retry is cleared.
	f.double.Canister(priv).SetStatusPublic(true)
	f.clock.Advance(registry.StatusPrivateRetry)
	f.sweep()
	if q := queries(); q != 2 {
		t.Errorf("a day later: %d queries, want 2", q)
	}
	if got := f.cyclesSeries(idOf(priv)); len(got) != 1 || got[0].Source != registry.CyclesPublicStatus {
		t.Errorf("private turned public: %+v", got)
	}
	if r := f.canister(idOf(priv)).StatusRetryAt; r != nil {
		t.Errorf("retry still set: %v", r)
	}
}

// counter returns a function giving the double's requests of kind since its previous call.
func (f *fixture) counter(kind string) func() int64 {
	last := f.double.Requests(kind)
	return func() int64 {
		n := f.double.Requests(kind)
		d := n - last
		last = n
		return d
	}
}

func (f *fixture) cyclesSeries(id registry.CanisterID) []registry.CyclesPoint {
	f.t.Helper()
	p, err := f.store.CyclesRange(f.t.Context(), id, registry.StatsRange{From: time.Unix(0, 0), To: f.clock.Now().Add(time.Hour)})
	if err != nil {
		f.t.Fatal(err)
	}
	return p.Items
}

// newPoller is a second poller, as after a restart: a new IC client on the same database.
func (f *fixture) newPoller() *poll.Poller {
	f.t.Helper()
	client, err := poll.NewClient(f.t.Context(), ic.Config{URL: f.double.URL(), FetchRootKey: true, VerifyQuerySignatures: true}, 0)
	if err != nil {
		f.t.Fatal(err)
	}
	p, err := poll.New(poll.Config{Schedule: "@every 1m", Concurrency: 4, Timeout: 30 * time.Second, Spread: -1,
		StatsRetention: 24 * time.Hour, Now: f.clock.Now}, f.store, client, f.connect("restarted"))
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { _ = p.Stop(f.t.Context()) })
	return p
}
