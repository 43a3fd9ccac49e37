package ic_test

import (
	"math/big"
	"testing"

	"github.com/aviate-labs/agent-go/principal"

	"canistry/pkg/ic"
	"canistry/pkg/ic/ictest"
	"canistry/pkg/registry"
)

// TestClient_Cycles reads a canister's cycles and memory through the blackhole on the
// replica double: an update call whose certified reply agent-go verifies.
func TestClient_Cycles(t *testing.T) {
	double := ictest.NewServer(t)
	hole, err := principal.Decode(registry.KnownBlackholes[0])
	if err != nil {
		t.Fatal(err)
	}
	bh := ictest.NewBlackhole()
	double.AddCanister(hole, make([]byte, 32)).Install(bh)
	target := ictest.CanisterID(7)
	double.AddCanister(target, make([]byte, 32), hole)
	cycles, _ := new(big.Int).SetString("123456789012345678901234", 10)
	bh.SetStatus(target, ictest.CanisterStatus{Cycles: cycles, MemorySize: big.NewInt(3 << 20), IdleCyclesBurnedPerDay: big.NewInt(1_000_000_000)})
	c, err := ic.New(t.Context(), ic.Config{URL: double.URL(), FetchRootKey: true})
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Cycles(t.Context(), registry.CanisterID(hole.Encode()), registry.CanisterID(target.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	if st.Cycles != cycles.String() || st.MemorySize != "3145728" || st.IdleCyclesPerDay != "1000000000" || st.Status != "running" ||
		st.RunwayDays() != "123456789012345" {
		t.Errorf("status %+v, runway %s", st, st.RunwayDays())
	}
	t.Run("ErrNotController", func(t *testing.T) {
		_, err := c.Cycles(t.Context(), registry.CanisterID(hole.Encode()), registry.CanisterID(ictest.CanisterID(8).Encode()))
		if err == nil {
			t.Fatal("a canister the blackhole does not control answered")
		}
	})
}
