package httpapi_test

import (
	"testing"
	"time"

	"canistry/pkg/registry"
	"canistry/pkg/store"
)

// TestAPI_ChainFacts: what issue 23 reads from the chain, served and validated against
// openapi.json (every reply of a.do is): the certified install times and the install history,
// the immutable badge's basis, the ledger badges and their ?badge= filter, a token's index
// canister and block log, and the source of each cycles point.
func TestAPI_ChainFacts(t *testing.T) {
	a := newTestAPI(t, apiOptions{adminKey: testAdminKey})
	registerCanister(t, a, idLedger, "token")
	registerCanister(t, a, idWallet, "wallet")
	ctx := t.Context()
	now := a.Clock.Now().UTC().Truncate(time.Millisecond)
	created, installed := now.Add(-90*24*time.Hour), now.Add(-40*24*time.Hour)
	state := registry.CanisterState{ModuleHash: "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789",
		Controllers: []string{string(idWallet)}, CreatedAt: &created, LastInstalledAt: &installed}
	tok := registry.TokenInfo{CanisterID: idLedger, Name: "Ledger", Symbol: "LED", Decimals: 8, IndexID: string(idWallet),
		SupportedStandards: []registry.Standard{{Name: "ICRC-1", URL: "u"}, {Name: "ICRC-2", URL: "u"}, {Name: "ICRC-3", URL: "u"}, {Name: "ICRC-152", URL: "u"}},
		UpdatedAt:          now}
	if _, err := a.Store.SaveRefresh(ctx, store.RefreshWrite{ID: idLedger, At: now, State: &state, Token: &tok}); err != nil {
		t.Fatal(err)
	}
	in, _, err := a.Store.BadgeState(ctx, idLedger)
	if err != nil {
		t.Fatal(err)
	}
	in.Ledger = registry.LedgerBadgesOf(&tok)
	if err := a.Store.SaveBadges(ctx, idLedger, state.ModuleHash, registry.ComputeBadges(in, now, registry.DefaultBadgeRules)); err != nil {
		t.Fatal(err)
	}
	for i, src := range registry.CyclesSources {
		if err := a.Store.AddCycles(ctx, registry.CyclesPoint{CanisterID: idLedger, ObservedAt: now.Add(time.Duration(i-3) * time.Hour),
			Status: "running", Cycles: "5000000000000", MemorySize: "1", IdleCyclesPerDay: "1000000000", Source: src}, now.Add(-48*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}

	var c struct {
		CanisterCreatedAt *string  `json:"canister_created_at"`
		LastInstalledAt   *string  `json:"last_installed_at"`
		Badges            []string `json:"badges"`
		ImmutableSince    *string  `json:"immutable_since"`
		ImmutableBasis    *string  `json:"immutable_basis"`
	}
	a.do("GET", "/canisters/"+string(idLedger), nil).JSON(t, &c)
	if c.CanisterCreatedAt == nil || *c.CanisterCreatedAt != created.Format(time.RFC3339Nano) || c.LastInstalledAt == nil ||
		c.ImmutableBasis == nil || *c.ImmutableBasis != registry.ImmutableFromInstall || c.ImmutableSince == nil ||
		*c.ImmutableSince != *c.LastInstalledAt {
		t.Errorf("canister %+v", c)
	}
	want := []string{"immutable", "icrc2", "icrc3", "indexed", "privileged"}
	if len(c.Badges) != len(want) {
		t.Errorf("badges %v, want %v", c.Badges, want)
	}
	var other struct {
		CanisterCreatedAt *string `json:"canister_created_at"`
		ImmutableBasis    *string `json:"immutable_basis"`
	}
	a.do("GET", "/canisters/"+string(idWallet), nil).JSON(t, &other)
	if other.CanisterCreatedAt != nil || other.ImmutableBasis != nil {
		t.Errorf("never-read canister %+v, want nulls", other)
	}
	for badge, n := range map[string]int{"icrc2": 1, "icrc3": 1, "indexed": 1, "privileged": 1, "verified": 0} {
		var l struct {
			Items []struct {
				ID string `json:"canister_id"`
			} `json:"items"`
		}
		a.do("GET", "/canisters?badge="+badge, nil).JSON(t, &l)
		if len(l.Items) != n {
			t.Errorf("?badge=%s: %d canisters, want %d", badge, len(l.Items), n)
		}
	}
	if r := a.do("GET", "/canisters?badge=icrc4", nil); r.Status != 400 || r.ErrorCode(t) != "invalid" {
		t.Errorf("unknown badge: %d %s", r.Status, r.Body)
	}
	var h struct {
		Items []struct {
			Field string `json:"field"`
			New   any    `json:"new"`
		} `json:"items"`
	}
	a.do("GET", "/canisters/"+string(idLedger)+"/history", nil).JSON(t, &h)
	found := false
	for _, it := range h.Items {
		found = found || (it.Field == "install" && it.New == installed.Format(time.RFC3339Nano))
	}
	if !found {
		t.Errorf("history %+v lacks the install", h.Items)
	}
	var tj struct {
		IndexID  *string `json:"index_id"`
		BlockLog bool    `json:"block_log"`
	}
	a.do("GET", "/tokens/"+string(idLedger), nil).JSON(t, &tj)
	if tj.IndexID == nil || *tj.IndexID != string(idWallet) || !tj.BlockLog {
		t.Errorf("token %+v", tj)
	}
	var cy struct {
		Series []struct {
			Source string  `json:"source"`
			Runway *string `json:"runway_days"`
		} `json:"series"`
	}
	a.do("GET", "/canisters/"+string(idLedger)+"/cycles", nil).JSON(t, &cy)
	if len(cy.Series) != 3 {
		t.Fatalf("cycles %+v", cy)
	}
	for i, p := range cy.Series {
		if p.Source != registry.CyclesSources[i] || p.Runway == nil || *p.Runway != "5000" {
			t.Errorf("point %d: %+v", i, p)
		}
	}
}
