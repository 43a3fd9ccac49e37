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
// them; they follow a controllers change and the passage of time.
func TestPoller_Badges(t *testing.T) {
	f := newFixture(t, nil)
	ctx := t.Context()
	hole, err := principal.Decode(registry.KnownBlackholes[0])
	if err != nil {
		t.Fatal(err)
	}
	owner := principalN(100)
	holed, owned := idOf(principalN(1)), idOf(principalN(2))
	f.double.AddCanister(principalN(1), hash32(1), hole)
	f.double.AddCanister(principalN(2), hash32(2), owner)
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
	if since := b[holed].ImmutableSince; since == nil || !since.Equal(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("immutable since %v, want the first read", since)
	}
}
