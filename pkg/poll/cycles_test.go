package poll_test

import (
	"math/big"
	"testing"
	"time"

	"canistry/pkg/ic/ictest"
	"canistry/pkg/registry"
)

// TestPoller_Cycles: a canister controlled by the public blackhole gets one cycles and
// memory observation per refresh, read through the blackhole's canister_status on the double;
// a canister with other controllers gets none, and observations past the retention go.
func TestPoller_Cycles(t *testing.T) {
	f := newFixture(t, nil)
	ctx := t.Context()
	hole, bh := f.installBlackhole(t)
	holed, owned := idOf(principalN(1)), idOf(principalN(2))
	f.double.AddCanister(principalN(1), hash32(1), hole)
	f.double.AddCanister(principalN(2), hash32(2), principalN(100))
	f.register(holed, registry.KindOther)
	f.register(owned, registry.KindOther)
	big1, _ := new(big.Int).SetString("98765432109876543210987", 10)
	bh.SetStatus(principalN(1), ictest.CanisterStatus{Cycles: big1, MemorySize: big.NewInt(1 << 20), IdleCyclesBurnedPerDay: big.NewInt(5)})

	series := func(id registry.CanisterID) []registry.CyclesPoint {
		t.Helper()
		p, err := f.store.CyclesRange(ctx, id, registry.StatsRange{From: time.Unix(0, 0), To: f.clock.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		return p.Items
	}
	f.sweep()
	bh.SetStatus(principalN(1), ictest.CanisterStatus{Cycles: big.NewInt(42), MemorySize: big.NewInt(2 << 20), Status: "stopped"})
	f.clock.Advance(time.Minute)
	f.sweep()
	got := series(holed)
	if len(got) != 2 || got[0].Cycles != big1.String() || got[0].MemorySize != "1048576" || got[0].IdleCyclesPerDay != "5" ||
		got[1].Cycles != "42" || got[1].Status != "stopped" || !got[1].ObservedAt.Equal(f.clock.Now()) {
		t.Errorf("series %+v", got)
	}
	if n := len(series(owned)); n != 0 {
		t.Errorf("a canister the blackhole does not control has %d observations", n)
	}
	f.clock.Advance(25 * time.Hour) // past the fixture's 24 h retention
	f.sweep()
	if got := series(holed); len(got) != 1 {
		t.Errorf("after the retention: %d observations, want the new one", len(got))
	}
}
