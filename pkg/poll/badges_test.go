package poll_test

import (
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/aviate-labs/agent-go/principal"

	"canistry/pkg/registry"
)

// TestPoller_Badges: the poller computes trust badges from what it reads on chain and stores
// them; they follow a controllers change and the passage of time. The canisters' installs are
// not certified here (a replica before interface spec 0.66.0, or installs before the IC
// recorded them), so immutability counts from the first read; TestPoller_ImmutableFromInstall
// covers certified installs.
func TestPoller_Badges(t *testing.T) {
	f := newFixture(t, nil)
	ctx := t.Context()
	hole, err := principal.Decode(registry.KnownBlackholes[0])
	if err != nil {
		t.Fatal(err)
	}
	owner := principalN(100)
	holed, owned := idOf(principalN(1)), idOf(principalN(2))
	f.double.AddCanister(principalN(1), hash32(1), hole).SetInstallTimes(time.Time{}, time.Time{})
	f.double.AddCanister(principalN(2), hash32(2), owner).SetInstallTimes(time.Time{}, time.Time{})
	f.register(holed, registry.KindOther)
	f.register(owned, registry.KindOther)
	if _, _, err := f.store.PutModuleHash(ctx, registry.ModuleHash{Hash: hex.EncodeToString(hash32(2)), Name: "known"}); err != nil {
		t.Fatal(err)
	}
	badges := func() map[registry.CanisterID]string {
		t.Helper()
		m, err := f.store.Badges(ctx, []registry.CanisterID{holed, owned})
		if err != nil {
			t.Fatal(err)
		}
		out := map[registry.CanisterID]string{}
		for id, b := range m {
			out[id] = fmt.Sprint(b.Names())
		}
		return out
	}
	check := func(step string, wantHoled, wantOwned string) {
		t.Helper()
		got := badges()
		if got[holed] != wantHoled || got[owned] != wantOwned {
			t.Errorf("%s: blackholed canister %s, owned canister %s; want %s and %s", step, got[holed], got[owned], wantHoled, wantOwned)
		}
	}

	f.sweep()
	check("first sweep", "[blackholed]", "[verified]")

	f.clock.Advance(time.Hour)
	f.double.Canister(principalN(2)).SetControllers(owner, principalN(101))
	f.sweep()
	check("controllers changed", "[blackholed]", "[verified controller_changed]")

	f.clock.Advance(30 * 24 * time.Hour)
	f.sweep()
	check("30 days later", "[blackholed immutable]", "[verified immutable]")
	// A build added with POST /module-hashes is verified at once, and the next refresh (which
	// reads only the stored badges) keeps it.
	if _, err := f.store.CreateModuleHash(ctx, registry.ModuleHash{Hash: hex.EncodeToString(hash32(1)), Name: "vault"}); err != nil {
		t.Fatal(err)
	}
	check("build added", "[verified blackholed immutable]", "[verified immutable]")
	f.clock.Advance(time.Minute)
	f.sweep()
	check("next refresh", "[verified blackholed immutable]", "[verified immutable]")
	b, err := f.store.Badges(ctx, []registry.CanisterID{holed})
	if err != nil {
		t.Fatal(err)
	}
	if since := b[holed].ImmutableSince; since == nil || !since.Equal(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)) ||
		b[holed].ImmutableBasis != registry.ImmutableFromObserved {
		t.Errorf("immutable since %v (%s), want the first read", since, b[holed].ImmutableBasis)
	}
}

// TestPoller_ImmutableFromInstall: where the IC certifies the last install, immutability counts
// from it, not from the poller's first read: a canister installed 40 days before its first read
// is immutable at once, and an upgrade (same module hash) starts the count again.
func TestPoller_ImmutableFromInstall(t *testing.T) {
	f := newFixture(t, nil)
	ctx := t.Context()
	id := idOf(principalN(1))
	installed := f.clock.Now().Add(-40*24*time.Hour + 123456789) // sub-millisecond digits, as the IC certifies
	c := f.double.AddCanister(principalN(1), hash32(1), principalN(100))
	c.SetInstallTimes(installed.Add(-time.Hour), installed)
	f.register(id, registry.KindOther)
	f.sweep()
	b, err := f.store.Badges(ctx, []registry.CanisterID{id})
	if err != nil {
		t.Fatal(err)
	}
	if got := b[id]; !got.Immutable || got.ImmutableBasis != registry.ImmutableFromInstall || !got.ImmutableSince.Equal(installed.Truncate(time.Millisecond)) {
		t.Fatalf("badges %+v, want immutable since the certified install", got)
	}
	first := b[id].ComputedAt
	f.clock.Advance(time.Minute)
	f.sweep() // unchanged: the stored badges stand (not rewritten)
	if b, err = f.store.Badges(ctx, []registry.CanisterID{id}); err != nil || !b[id].ComputedAt.Equal(first) {
		t.Errorf("unchanged canister: badges computed at %v, want %v (rewritten at every refresh)", b[id].ComputedAt, first)
	}
	rec := f.canister(id)
	if rec.LastInstalledAt == nil || !rec.LastInstalledAt.Equal(installed.Truncate(time.Millisecond)) || rec.CanisterCreatedAt == nil {
		t.Errorf("canister install facts %v %v", rec.LastInstalledAt, rec.CanisterCreatedAt)
	}
	f.clock.Advance(time.Minute)
	c.SetInstallTimes(installed.Add(-time.Hour), f.clock.Now()) // upgraded, same module
	f.sweep()
	if b, err = f.store.Badges(ctx, []registry.CanisterID{id}); err != nil || b[id].Immutable {
		t.Errorf("after an upgrade: %+v %v, want not immutable", b[id], err)
	}
}
