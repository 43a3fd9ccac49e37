package ic_test

import (
	"math/big"
	"slices"
	"testing"

	"canistry/pkg/ic/ictest"
	"canistry/pkg/registry"

	"github.com/aviate-labs/agent-go/candid/idl"
	"github.com/aviate-labs/agent-go/principal"
)

func TestClient_Miner(t *testing.T) {
	c, s := newClient(t)
	token := canisterID(50)
	info := ictest.MinerInfo{CurrentToken: &token, IsMining: true, SpeedPercentage: 75, ChunksPerRefresh: 10, ChunkSize: 4096, ICRCVersion: 2}
	usage := ictest.CycleUsage{
		CurrentBalance: idl.NewBigNat(bigNat(t, above64)),
		Measurements:   []ictest.CycleMeasurement{{Timestamp: 1, Balance: idl.NewNat(uint64(5))}},
		UsageLast15Min: ptr(idl.NewNat(uint64(1234))), UsageRatePerHour: ptr(4936.0), EstimatedRemainingTime: ptr("12 days"),
	}
	minerID := canisterID(10)
	m := ictest.NewMiner(info, usage)
	stats := ictest.MiningStats{BlocksMined: 3, TotalHashes: 1 << 40, StartTime: 1_700_000_000_000_000_000, LastHashRate: 1.5e6, TotalRewards: 150, ChunksSinceRefresh: 7}
	m.SetStats(&stats)
	s.AddCanister(minerID, hash32(10)).Install(m)

	oldID := canisterID(11) // an older miner: no get_cycle_usage, not mining yet
	oldInfo := info
	oldInfo.CurrentToken = nil
	s.AddCanister(oldID, hash32(11)).Install(ictest.NewMiner(oldInfo, ictest.CycleUsage{})).Remove("get_cycle_usage")

	// A newer miner whose records carry fields canistry does not know, and lack optional ones.
	newID := canisterID(12)
	type minerInfoV2 struct {
		CurrentToken     *principal.Principal `ic:"current_token"`
		IsMining         bool                 `ic:"is_mining"`
		SpeedPercentage  uint8                `ic:"speed_percentage"`
		ChunksPerRefresh uint64               `ic:"chunks_per_refresh"`
		ChunkSize        uint64               `ic:"chunk_size"`
		ICRCVersion      uint8                `ic:"icrc_version"`
		Difficulty       uint32               `ic:"difficulty"` // unknown to canistry
		Pool             string               `ic:"pool"`       // unknown to canistry
	}
	newer := s.AddCanister(newID, hash32(12))
	newer.Reply("get_info", struct {
		Ok  *minerInfoV2 `ic:"Ok,variant"`
		Err *string      `ic:"Err,variant"`
	}{Ok: &minerInfoV2{SpeedPercentage: 10, ChunkSize: 1, Difficulty: 9, Pool: "p"}})
	newer.Reply("get_mining_stats", (*ictest.MiningStats)(nil))
	newer.Reply("get_cycle_usage", struct {
		CurrentBalance idl.Nat `ic:"current_balance"`
		Burn           idl.Nat `ic:"burn_total"`
	}{CurrentBalance: idl.NewNat(uint8(9)), Burn: idl.NewNat(uint8(1))})

	errID := canisterID(13)
	em := ictest.NewMiner(info, usage)
	em.SetErr("not initialised")
	s.AddCanister(errID, hash32(13)).Install(em)

	t.Run("OK", func(t *testing.T) {
		got, st, err := c.Miner(t.Context(), regID(minerID))
		if err != nil {
			t.Fatal(err)
		}
		want := registry.MinerInfo{CanisterID: regID(minerID), CurrentToken: token.Encode(), IsMining: true, SpeedPercentage: 75,
			ChunkSize: 4096, ChunksPerRefresh: 10, ICRCVersion: 2, SupportsStats: true, SupportsCycleUsage: true,
			CycleBalance: above64, CycleUsageLast15Min: "1234", EstimatedRemainingTime: "12 days", UpdatedAt: got.UpdatedAt}
		if got.CycleUsagePerHour == nil || *got.CycleUsagePerHour != 4936 {
			t.Errorf("usage per hour = %v", got.CycleUsagePerHour)
		}
		got.CycleUsagePerHour = nil
		if got != want {
			t.Errorf("got  %+v\nwant %+v", got, want)
		}
		if st == nil || st.BlocksMined != 3 || st.TotalHashes != 1<<40 || st.HashRate != 1.5e6 || st.TotalRewards != 150 ||
			st.ChunksSinceRefresh != 7 || st.StartTime != stats.StartTime || st.ObservedAt.IsZero() {
			t.Errorf("stats = %+v", st)
		}
	})
	t.Run("OlderMinerWithoutCycleUsage", func(t *testing.T) {
		got, st, err := c.Miner(t.Context(), regID(oldID))
		if err != nil {
			t.Fatal(err)
		}
		if got.SupportsCycleUsage || !got.SupportsStats || st != nil || got.CurrentToken != "" || got.CycleBalance != "" {
			t.Errorf("got %+v stats %+v", got, st)
		}
	})
	t.Run("ExtraAndMissingFields", func(t *testing.T) {
		got, st, err := c.Miner(t.Context(), regID(newID))
		if err != nil {
			t.Fatal(err)
		}
		if got.SpeedPercentage != 10 || got.ChunkSize != 1 || got.CycleBalance != "9" || got.CycleUsagePerHour != nil ||
			got.CycleUsageLast15Min != "" || st != nil || !got.SupportsStats {
			t.Errorf("got %+v stats %+v", got, st)
		}
	})
	t.Run("ErrVariant", func(t *testing.T) {
		_, _, err := c.Miner(t.Context(), regID(errID))
		wantCode(t, err, registry.EUNAVAILABLE)
	})
	t.Run("ChangedValues", func(t *testing.T) {
		next := stats
		next.BlocksMined = 4
		m.SetStats(&next)
		changed := info
		changed.IsMining = false
		m.SetInfo(changed)
		got, st, err := c.Miner(t.Context(), regID(minerID))
		if err != nil {
			t.Fatal(err)
		}
		if got.IsMining || st.BlocksMined != 4 {
			t.Errorf("after change: %+v %+v", got, st)
		}
	})
}

func TestClient_Wallet(t *testing.T) {
	c, s := newClient(t)
	wallet := canisterID(20)
	l1, l2, missing := canisterID(21), canisterID(22), canisterID(23)
	a := ictest.NewLedger(ictest.LedgerInfo{Symbol: "A"})
	a.SetBalance(wallet, bigNat(t, above64))
	s.AddCanister(l1, hash32(1)).Install(a)
	s.AddCanister(l2, hash32(2)).Install(ictest.NewLedger(ictest.LedgerInfo{Symbol: "B"}))

	t.Run("OK", func(t *testing.T) {
		got, err := c.Wallet(t.Context(), regID(wallet), []registry.CanisterID{regID(l1), regID(l2)})
		if err != nil {
			t.Fatal(err)
		}
		amounts := []string{got[0].Amount, got[1].Amount}
		if !slices.Equal(amounts, []string{above64, "0"}) || got[0].Ledger != regID(l1) || got[0].Wallet != regID(wallet) {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("ChangedBalance", func(t *testing.T) {
		a.SetBalance(wallet, big.NewInt(5))
		got, err := c.Wallet(t.Context(), regID(wallet), []registry.CanisterID{regID(l1)})
		if err != nil || got[0].Amount != "5" {
			t.Fatalf("got %+v, %v", got, err)
		}
	})
	t.Run("ErrNotFoundLedgerKeepsOthers", func(t *testing.T) {
		got, err := c.Wallet(t.Context(), regID(wallet), []registry.CanisterID{regID(missing), regID(l2)})
		wantCode(t, err, registry.ENOTFOUND)
		if len(got) != 1 || got[0].Ledger != regID(l2) {
			t.Errorf("got %+v", got)
		}
	})
}

func TestClient_Canister(t *testing.T) {
	c, s := newClient(t)
	id, empty, gone := canisterID(30), canisterID(31), canisterID(32)
	ctl1, ctl2 := canisterID(33), principal.AnonymousID
	cn := s.AddCanister(id, hash32(0xab), ctl1, ctl2)
	s.AddCanister(empty, nil, ctl1)

	t.Run("OK", func(t *testing.T) {
		got, err := c.Canister(t.Context(), regID(id))
		if err != nil {
			t.Fatal(err)
		}
		if got.ModuleHash != "abababababababababababababababababababababababababababababababab" ||
			!slices.Equal(got.Controllers, []string{ctl1.Encode(), ctl2.Encode()}) {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("EmptyCanister", func(t *testing.T) {
		got, err := c.Canister(t.Context(), regID(empty))
		if err != nil {
			t.Fatal(err)
		}
		if got.ModuleHash != "" || !slices.Equal(got.Controllers, []string{ctl1.Encode()}) {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := c.Canister(t.Context(), regID(gone))
		wantCode(t, err, registry.ENOTFOUND)
	})
	t.Run("ChangedValues", func(t *testing.T) {
		cn.SetModuleHash(hash32(0x01))
		cn.SetControllers(ctl2)
		got, err := c.Canister(t.Context(), regID(id))
		if err != nil {
			t.Fatal(err)
		}
		if got.ModuleHash[:4] != "0101" || !slices.Equal(got.Controllers, []string{ctl2.Encode()}) {
			t.Errorf("got %+v", got)
		}
	})
}
