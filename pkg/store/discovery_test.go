package store_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"canistry/pkg/registry"
	"canistry/pkg/store"
)

func discoveredDAO(root, gov, ledger registry.CanisterID, symbol string) []registry.Discovered {
	return registry.SNSCanisters{Root: root, Governance: gov, Ledger: ledger}.Discover(symbol)
}

func applyDiscovery(t *testing.T, s *store.Store, found []registry.Discovered) registry.DiscoveryRun {
	t.Helper()
	run := registry.DiscoveryRun{Source: registry.DiscoverySNS, Trigger: "request", StartedAt: time.Now(), DAOs: 1}
	out, evs, err := s.ApplyDiscovery(t.Context(), run, found, func(r registry.DiscoveryRun) (registry.Event, error) {
		return registry.NewEvent(registry.EventDiscoveryCompleted, r, time.Now())
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Event != registry.EventDiscoveryCompleted || evs[0].ID == 0 {
		t.Fatalf("events %+v", evs)
	}
	return out
}

func TestStore_ApplyDiscovery(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := openStore(t, b.DB(t))
		ctx := t.Context()
		root, gov, ledger := registry.CanisterID("zxeu2-7aaaa-aaaaq-aaafa-cai"), registry.CanisterID("2jvtu-yqaaa-aaaaq-aaama-cai"),
			registry.CanisterID("2ouva-viaaa-aaaaq-aaamq-cai")
		// Governance was registered by hand before discovery ran.
		if _, err := s.CreateCanister(ctx, registry.Canister{ID: gov, Kind: registry.KindOther, Name: "my gov", Tags: []string{"mine"}}); err != nil {
			t.Fatal(err)
		}
		found := discoveredDAO(root, gov, ledger, "CHAT")

		first := applyDiscovery(t, s, found)
		if first.Added != 2 || first.Updated != 1 || first.Kept != 1 || first.Found != 3 || first.Unchanged != 0 ||
			!slices.Equal(first.AddedIDs, []registry.CanisterID{root, ledger}) {
			t.Fatalf("first run %+v", first)
		}
		l, err := s.GetCanister(ctx, ledger)
		if err != nil || l.Kind != registry.KindToken || l.Name != "CHAT ledger" || !slices.Equal(l.Tags, []string{"sns:" + string(root)}) {
			t.Fatalf("ledger %+v %v", l, err)
		}
		g, _ := s.GetCanister(ctx, gov)
		if g.Name != "my gov" || !slices.Equal(g.Tags, []string{"mine", "sns:" + string(root)}) {
			t.Fatalf("hand-registered governance changed: %+v", g)
		}

		t.Run("Idempotent", func(t *testing.T) {
			v0, _ := s.DataVersion(ctx)
			before, _ := s.ListCanisters(ctx, registry.CanisterFilter{})
			again := applyDiscovery(t, s, found)
			if again.Added != 0 || again.Updated != 0 || again.Unchanged != 3 || again.Kept != 1 {
				t.Fatalf("second run %+v", again)
			}
			after, _ := s.ListCanisters(ctx, registry.CanisterFilter{})
			if !slices.EqualFunc(before.Items, after.Items, func(a, b registry.CanisterRecord) bool {
				return a.Name == b.Name && a.Kind == b.Kind && slices.Equal(a.Tags, b.Tags) && a.UpdatedAt.Equal(b.UpdatedAt)
			}) {
				t.Errorf("second run changed canisters:\n%+v\n%+v", before.Items, after.Items)
			}
			_ = v0
		})
		t.Run("NoOverwrite", func(t *testing.T) {
			name := "Ledger named by hand"
			if _, err := s.UpdateCanister(ctx, ledger, registry.CanisterUpdate{Name: &name}); err != nil {
				t.Fatal(err)
			}
			renamed := applyDiscovery(t, s, discoveredDAO(root, gov, ledger, "CHAT2"))
			l, _ := s.GetCanister(ctx, ledger)
			r, _ := s.GetCanister(ctx, root)
			if l.Name != name || r.Name != "CHAT2 root" || renamed.Updated != 1 || renamed.Kept != 2 {
				t.Errorf("ledger %q root %q run %+v: want the hand-set name kept and the discovered one renamed", l.Name, r.Name, renamed)
			}
		})
		t.Run("DeletedByHandStaysDeleted", func(t *testing.T) {
			if _, err := s.DeleteCanister(ctx, root); err != nil {
				t.Fatal(err)
			}
			run := applyDiscovery(t, s, found)
			if _, err := s.GetCanister(ctx, root); registry.ErrorCode(err) != registry.ENOTFOUND || run.Skipped != 1 {
				t.Errorf("deleted root registered again: %v, run %+v", err, run)
			}
		})
		t.Run("Runs", func(t *testing.T) {
			page, err := s.ListDiscoveryRuns(ctx, registry.DiscoveryFilter{Source: registry.DiscoverySNS, Page: registry.Page{Limit: 2, WithTotal: true}})
			if err != nil || len(page.Items) != 2 || page.Total == nil || *page.Total != 4 || page.Next == nil {
				t.Fatalf("runs %+v %v", page, err)
			}
			if page.Items[0].ID <= page.Items[1].ID || page.Items[0].Skipped != 1 {
				t.Errorf("runs not newest first: %+v", page.Items)
			}
			evs, err := s.Events(ctx, 0, 1<<62, 100)
			if err != nil {
				t.Fatal(err)
			}
			var last registry.DiscoveryRun
			if err := json.Unmarshal(evs[len(evs)-1].Data, &last); err != nil || last.ID != page.Items[0].ID {
				t.Errorf("last event %s: %v", evs[len(evs)-1].Data, err)
			}
		})
	})
}
