package store_test

import (
	"testing"
	"time"

	"canistry/pkg/registry"
	"canistry/pkg/store"
)

// TestStore_ChainFacts stores what issue 23 reads from the chain on both backends: certified
// install times (and the install history), the cycles source, the private-status retry time
// (read back with the canister, as the poller's sweep sees it), the ledger badges with their
// filter, and a token's index canister.
func TestStore_ChainFacts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := openStore(t, b.DB(t))
		ctx := t.Context()
		id := registry.CanisterID("ryjl3-tyaaa-aaaaa-aaaba-cai")
		if _, err := s.CreateCanister(ctx, registry.Canister{ID: id, Kind: registry.KindToken}); err != nil {
			t.Fatal(err)
		}
		t0 := time.UnixMilli(1_700_000_000_000).UTC()
		created, inst1, inst2 := t0.Add(-48*time.Hour), t0.Add(-time.Hour), t0.Add(time.Hour)
		state := registry.CanisterState{ModuleHash: "aa", Controllers: []string{"aaaaa-aa"}, CreatedAt: &created, LastInstalledAt: &inst1}
		tok := registry.TokenInfo{CanisterID: id, Symbol: "TOK", IndexID: "qhbym-qaaaa-aaaaa-aaafq-cai",
			SupportedStandards: []registry.Standard{{Name: "ICRC-1"}, {Name: "ICRC-2"}, {Name: "ICRC-153"}}, UpdatedAt: t0}
		saved, err := s.SaveRefresh(ctx, store.RefreshWrite{ID: id, At: t0, State: &state, Token: &tok})
		if err != nil {
			t.Fatal(err)
		}
		if !hasField(saved.Changes, registry.ChangeInstall) {
			t.Errorf("first read: changes %+v lack the install", saved.Changes)
		}
		// Same state again: nothing changes; a replica without the paths keeps what is stored.
		again := registry.CanisterState{ModuleHash: "aa", Controllers: []string{"aaaaa-aa"}}
		if saved, err = s.SaveRefresh(ctx, store.RefreshWrite{ID: id, At: t0.Add(time.Minute), State: &again}); err != nil || len(saved.Changes) != 0 {
			t.Fatalf("unchanged: %+v %v", saved, err)
		}
		// An upgrade to the same module: only the install time tells.
		state.LastInstalledAt = &inst2
		if saved, err = s.SaveRefresh(ctx, store.RefreshWrite{ID: id, At: t0.Add(2 * time.Hour), State: &state}); err != nil ||
			len(saved.Changes) != 1 || saved.Changes[0].Field != registry.ChangeInstall ||
			saved.Changes[0].Old != inst1.Format(time.RFC3339Nano) || saved.Changes[0].New != inst2.Format(time.RFC3339Nano) {
			t.Fatalf("upgrade: %+v %v", saved, err)
		}
		hist, err := s.CanisterHistory(ctx, id, registry.Page{})
		if err != nil || !hasField(hist.Items, registry.ChangeInstall) {
			t.Fatalf("history %+v %v", hist.Items, err)
		}
		retry := t0.Add(24 * time.Hour)
		if err := s.SetStatusRetry(ctx, id, &retry); err != nil {
			t.Fatal(err)
		}
		due, err := s.DueCanisters(ctx, t0.Add(1000*time.Hour), 0)
		if err != nil || len(due) != 1 {
			t.Fatalf("due %v %v", due, err)
		}
		c := due[0]
		if c.StatusRetryAt == nil || !c.StatusRetryAt.Equal(retry) || c.CanisterCreatedAt == nil || !c.CanisterCreatedAt.Equal(created) ||
			c.LastInstalledAt == nil || !c.LastInstalledAt.Equal(inst2) {
			t.Errorf("canister as swept: retry %v created %v installed %v", c.StatusRetryAt, c.CanisterCreatedAt, c.LastInstalledAt)
		}
		if err := s.SetStatusRetry(ctx, id, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.SetStatusRetry(ctx, "aaaaa-aa", nil); registry.ErrorCode(err) != registry.ENOTFOUND {
			t.Errorf("unregistered: %v", err)
		}
		if err := s.AddCycles(ctx, registry.CyclesPoint{CanisterID: id, ObservedAt: t0, Status: "running", Cycles: "5",
			MemorySize: "1", Source: registry.CyclesSNSRoot}, t0.Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		pts, err := s.CyclesRange(ctx, id, registry.StatsRange{From: t0, To: t0})
		if err != nil || len(pts.Items) != 1 || pts.Items[0].Source != registry.CyclesSNSRoot {
			t.Fatalf("cycles %+v %v", pts.Items, err)
		}
		in, _, err := s.BadgeState(ctx, id)
		if err != nil || !in.InstalledAt.Equal(inst2) {
			t.Fatalf("badge state %+v %v", in, err)
		}
		in.Ledger = registry.LedgerBadgesOf(&tok)
		bs := registry.ComputeBadges(in, t0.Add(3*time.Hour), registry.DefaultBadgeRules)
		if err := s.SaveBadges(ctx, id, "aa", bs); err != nil {
			t.Fatal(err)
		}
		got, err := s.Badges(ctx, []registry.CanisterID{id})
		if g := got[id]; err != nil || !g.Equal(&bs) || g.ImmutableBasis != registry.ImmutableFromInstall || !g.ICRC2 || g.ICRC3 || !g.Indexed || !g.Privileged {
			t.Fatalf("badges %+v %v", got[id], err)
		}
		for badge, want := range map[string]int{registry.BadgeICRC2: 1, registry.BadgeICRC3: 0, registry.BadgeIndexed: 1, registry.BadgePrivileged: 1} {
			l, err := s.ListCanisters(ctx, registry.CanisterFilter{Badge: badge})
			if err != nil || len(l.Items) != want {
				t.Errorf("?badge=%s: %d canisters, want %d (%v)", badge, len(l.Items), want, err)
			}
		}
		rec, err := s.GetToken(ctx, id)
		if err != nil || rec.IndexID != tok.IndexID {
			t.Errorf("token index %q %v", rec.IndexID, err)
		}
	})
}

func hasField(cs []registry.Change, field string) bool {
	for _, c := range cs {
		if c.Field == field {
			return true
		}
	}
	return false
}
