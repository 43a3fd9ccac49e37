package discover_test

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aviate-labs/agent-go/principal"

	"canistry/pkg/bus"
	"canistry/pkg/discover"
	"canistry/pkg/ic"
	"canistry/pkg/ic/ictest"
	"canistry/pkg/registry"
	"canistry/pkg/store"
)

// fixture is a Discoverer wired to a real SQLite file, the replica double with SNS-W and
// three DAOs, and an embedded NATS server whose subjects a subscriber collects.
type fixture struct {
	t      *testing.T
	store  *store.Store
	double *ictest.Server
	daos   []*ictest.SNS
	conn   *bus.Conn
	d      *discover.Discoverer
	msgs   chan string     // subjects published: events and refresh requests
	seen   map[string]bool // subjects waitFor has taken from msgs (subscriptions deliver in any order)
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, double: ictest.NewServer(t), msgs: make(chan string, 1024), seen: map[string]bool{}}
	f.daos = []*ictest.SNS{
		f.double.InstallSNS(ictest.SNSSpec{First: 100, Symbol: "CHAT", Name: "OpenChat", Archives: 2}),
		f.double.InstallSNS(ictest.SNSSpec{First: 200, Symbol: "KINIC", Name: "Kinic"}),
		f.double.InstallSNS(ictest.SNSSpec{First: 300, Symbol: "<b>Evil</b> \u202e", Name: "Hostile"}),
	}
	var err error
	f.store, err = store.Open(t.Context(), filepath.Join(t.TempDir(), "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.store.Close() })
	ns, err := bus.Serve(bus.ServerConfig{URL: "nats://127.0.0.1:0", ReadyTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	connect := func(name string) *bus.Conn {
		c, err := bus.Connect(bus.ConnectConfig{URL: ns.ClientURL(), Name: name})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		return c
	}
	f.conn = connect("poller")
	watch := connect("watch")
	for _, subj := range []string{bus.SubjectEventsAll, bus.SubjectRefresh} {
		if _, err := bus.Subscribe(watch, subj, "", func(s string, _ map[string]any) { f.msgs <- s }); err != nil {
			t.Fatal(err)
		}
	}
	if err := watch.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	client, err := ic.New(t.Context(), ic.Config{URL: f.double.URL(), FetchRootKey: true, VerifyQuerySignatures: true})
	if err != nil {
		t.Fatal(err)
	}
	f.d, err = discover.New(discover.Config{SNSWasm: ictest.SNSWasmID}, f.store, client, f.conn)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) run() registry.DiscoveryRun {
	f.t.Helper()
	run, err := f.d.Run(f.t.Context(), discover.TriggerRequest)
	if err != nil {
		f.t.Fatal(err)
	}
	return run
}

// waitFor waits for a message on subject (or takes one seen before).
func (f *fixture) waitFor(subject string) {
	f.t.Helper()
	deadline := time.After(30 * time.Second)
	for !f.seen[subject] {
		select {
		case s := <-f.msgs:
			f.seen[s] = true
		case <-deadline:
			f.t.Fatalf("no message on %s", subject)
		}
	}
	delete(f.seen, subject)
}

func rid(p principal.Principal) registry.CanisterID { return registry.CanisterID(p.Encode()) }

func TestDiscover_SNS(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	chat := f.daos[0].Root.Canisters()
	// The CHAT governance canister was registered by hand, as a wallet named by its owner.
	if _, err := f.store.CreateCanister(ctx, registry.Canister{ID: rid(chat.Governance), Kind: registry.KindWallet, Name: "treasury"}); err != nil {
		t.Fatal(err)
	}

	first := f.run()
	// 3 DAOs: CHAT 7 canisters (2 archives), KINIC 5, hostile 5; one registered by hand.
	if first.DAOs != 3 || first.Found != 17 || first.Added != 16 || first.Updated != 1 || first.Kept != 1 || first.Failed != 0 {
		t.Fatalf("first run %+v", first)
	}
	f.waitFor(bus.EventSubject(registry.EventDiscoveryCompleted))
	f.waitFor(bus.SubjectRefresh)
	ledger, err := f.store.GetCanister(ctx, rid(chat.Ledger))
	if err != nil || ledger.Kind != registry.KindToken || ledger.Name != "CHAT ledger" || !slices.Equal(ledger.Tags, []string{"sns:" + string(rid(chat.Root))}) {
		t.Fatalf("CHAT ledger %+v %v", ledger, err)
	}
	arch, err := f.store.GetCanister(ctx, rid(chat.Archives[1]))
	if err != nil || arch.Name != "CHAT archive 2" || arch.Kind != registry.KindOther {
		t.Fatalf("CHAT archive %+v %v", arch, err)
	}
	gov, _ := f.store.GetCanister(ctx, rid(chat.Governance))
	if gov.Name != "treasury" || gov.Kind != registry.KindWallet || !slices.Contains(gov.Tags, "sns:"+string(rid(chat.Root))) {
		t.Errorf("hand-registered governance: %+v", gov)
	}
	evil, _ := f.store.GetCanister(ctx, rid(f.daos[2].Root.Canisters().Swap))
	if evil.Name != "bEvilb swap" {
		t.Errorf("hostile symbol named %q", evil.Name)
	}

	t.Run("Idempotent", func(t *testing.T) {
		before, _ := f.store.ListCanisters(ctx, registry.CanisterFilter{Page: registry.Page{Limit: 100}})
		again := f.run()
		if again.Added != 0 || again.Updated != 0 || again.Unchanged != 17 || again.Kept != 1 {
			t.Fatalf("second run %+v", again)
		}
		after, _ := f.store.ListCanisters(ctx, registry.CanisterFilter{Page: registry.Page{Limit: 100}})
		if len(before.Items) != len(after.Items) {
			t.Fatalf("second run: %d canisters, then %d", len(before.Items), len(after.Items))
		}
		for i := range before.Items {
			b, a := before.Items[i], after.Items[i]
			if b.Name != a.Name || b.Kind != a.Kind || !slices.Equal(b.Tags, a.Tags) || !b.UpdatedAt.Equal(a.UpdatedAt) {
				t.Errorf("second run changed %s: %+v → %+v", b.ID, b.Canister, a.Canister)
			}
		}
	})
	t.Run("NoOverwrite", func(t *testing.T) {
		kind, name := registry.KindWallet, "my index"
		if _, err := f.store.UpdateCanister(ctx, rid(chat.Index), registry.CanisterUpdate{Kind: &kind, Name: &name}); err != nil {
			t.Fatal(err)
		}
		info := ictest.LedgerInfo{Name: "OpenChat", Symbol: "CHAT2", Decimals: 8}
		f.daos[0].Ledger.SetInfo(info)
		f.daos[0].Root.AddArchive(ictest.CanisterID(199))
		run := f.run()
		idx, _ := f.store.GetCanister(ctx, rid(chat.Index))
		root, _ := f.store.GetCanister(ctx, rid(chat.Root))
		if idx.Name != name || idx.Kind != kind {
			t.Errorf("hand-set index overwritten: %+v", idx)
		}
		if root.Name != "CHAT2 root" {
			t.Errorf("discovered root not renamed after the symbol changed: %q", root.Name)
		}
		if run.Added != 1 || !slices.Equal(run.AddedIDs, []registry.CanisterID{rid(ictest.CanisterID(199))}) {
			t.Errorf("new archive: run %+v", run)
		}
	})
	t.Run("RootFails", func(t *testing.T) {
		f.daos[1].Root.Canister().SetFault(ictest.FaultHTTP503)
		defer f.daos[1].Root.Canister().SetFault(ictest.FaultNone)
		run := f.run()
		if run.Failed != 1 || len(run.Errors) != 1 || run.Added != 0 || run.Skipped != 0 {
			t.Errorf("run with a failing root %+v", run)
		}
	})
	t.Run("SNSWFails", func(t *testing.T) {
		w := f.double.Canister(principal.MustDecode(ictest.SNSWasmID))
		w.SetFault(ictest.FaultHTTP503)
		defer w.SetFault(ictest.FaultNone)
		_, err := f.d.Run(ctx, discover.TriggerRequest)
		if registry.ErrorCode(err) != registry.EUNAVAILABLE {
			t.Errorf("run with SNS-W down: %v", err)
		}
		runs, _ := f.store.ListDiscoveryRuns(ctx, registry.DiscoveryFilter{Source: registry.DiscoverySNS})
		if len(runs.Items) == 0 || len(runs.Items[0].Errors) != 1 || runs.Items[0].Found != 0 {
			t.Errorf("failed run not recorded: %+v", runs.Items)
		}
	})
}

// TestDiscover_Request runs discovery through the bus, as POST /discover/sns asks for it.
func TestDiscover_Request(t *testing.T) {
	f := newFixture(t)
	if err := f.d.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.d.Stop(t.Context()) })
	api := f.conn
	if err := api.RequestDiscover("nonsense"); err != nil {
		t.Fatal(err)
	}
	if err := api.RequestDiscover(registry.DiscoverySNS); err != nil {
		t.Fatal(err)
	}
	f.waitFor(bus.EventSubject(registry.EventDiscoveryCompleted))
	runs, err := f.store.ListDiscoveryRuns(t.Context(), registry.DiscoveryFilter{Source: registry.DiscoverySNS})
	if err != nil || len(runs.Items) != 1 || runs.Items[0].Added != 17 || runs.Items[0].Trigger != discover.TriggerRequest {
		t.Fatalf("runs %+v %v", runs.Items, err)
	}
}
