package poll_test

import (
	"encoding/json"
	"math/big"
	"slices"
	"testing"
	"time"

	"canistry/pkg/ic/ictest"
	"canistry/pkg/registry"
)

// eventsByName groups events by name, decoding each one's data.
func eventsByName(t *testing.T, evs []registry.Event) map[string][]map[string]any {
	t.Helper()
	out := map[string][]map[string]any{}
	for _, e := range evs {
		var d map[string]any
		if err := json.Unmarshal(e.Data, &d); err != nil {
			t.Fatalf("event %s data %s: %v", e.Event, e.Data, err)
		}
		out[e.Event] = append(out[e.Event], d)
	}
	return out
}

// changedOf returns the "changed" list of the canister.updated event for id.
func changedOf(t *testing.T, byName map[string][]map[string]any, id registry.CanisterID) []string {
	t.Helper()
	for _, d := range byName[registry.EventCanisterUpdated] {
		if d["canister_id"] == string(id) {
			var out []string
			for _, v := range d["changed"].([]any) {
				out = append(out, v.(string))
			}
			return out
		}
	}
	return nil
}

func (f *fixture) statsCount(id registry.CanisterID) int64 {
	f.t.Helper()
	page, err := f.store.MinerStatsRange(f.t.Context(), id, registry.StatsRange{From: time.Unix(0, 0),
		To: f.clock.Now().Add(time.Hour), Page: registry.Page{Limit: 1000}})
	if err != nil {
		f.t.Fatal(err)
	}
	return int64(len(page.Items))
}

func TestPoller_Sweep(t *testing.T) {
	f := newFixture(t, nil)
	w := newWorld(f)
	ctx := t.Context()

	t.Run("First", func(t *testing.T) {
		res := f.sweep()
		if res.Due != 5 || res.Refreshed != 5 || res.Failed != 0 || res.Changed != 5 {
			t.Fatalf("first sweep = %+v, want 5 due, 5 refreshed, 5 changed", res)
		}
		tok, err := f.store.GetToken(ctx, w.token)
		if err != nil || tok.Symbol != "ALP" || tok.TotalSupply != "1000000" || !tok.Has(registry.InterfaceICRC1) {
			t.Fatalf("token = %+v, %v", tok.TokenInfo, err)
		}
		pow, err := f.store.GetToken(ctx, w.pow)
		if err != nil || pow.BlockHeight != "42" || pow.LedgerID != string(w.powLedger) {
			t.Fatalf("PoW token = %+v, %v", pow.TokenInfo, err)
		}
		m, err := f.store.GetMiner(ctx, w.miner)
		if err != nil || !m.IsMining || m.CurrentToken != string(w.pow) || m.CycleBalance != "5000000000000" {
			t.Fatalf("miner = %+v, %v", m.MinerInfo, err)
		}
		if n := f.statsCount(w.miner); n != 1 {
			t.Fatalf("miner_stats rows = %d, want 1", n)
		}
		for _, id := range w.all {
			c := f.canister(id)
			if c.Refresh.LastSuccessAt == nil || c.Refresh.ConsecutiveFailures != 0 || len(c.Controllers) == 0 {
				t.Errorf("%s after the first sweep: %+v", id, c.Canister)
			}
		}
		if got := f.canister(w.other).ModuleHash; got != "" {
			t.Errorf("empty canister has module hash %q", got)
		}
		published := f.drainEvents()
		// Every published event is the logged one: the log holds the same events, ids, data.
		logged, err := f.store.Events(ctx, 0, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(logged) != len(published) {
			t.Fatalf("%d events logged, %d published", len(logged), len(published))
		}
		byID := map[int64]registry.Event{}
		for _, e := range logged {
			byID[e.ID] = e
		}
		for _, e := range published {
			if l, ok := byID[e.ID]; !ok || l.Event != e.Event || string(l.Data) != string(e.Data) || l.Cursor != e.Cursor {
				t.Errorf("published %+v, logged %+v", e, l)
			}
		}
		byName := eventsByName(t, published)
		// The first observation is a change from "": every canister with a module gets one.
		if n := len(byName[registry.EventModuleHashChanged]); n != 4 {
			t.Errorf("%d module_hash.changed events, want 4", n)
		}
		if n := len(byName[registry.EventControllersChanged]); n != 5 {
			t.Errorf("%d controllers.changed events, want 5", n)
		}
		if got := changedOf(t, byName, w.token); !slices.Contains(got, "module_hash") || !slices.Contains(got, "total_supply") {
			t.Errorf("token changed = %q", got)
		}
	})

	t.Run("Balances", func(t *testing.T) {
		// The ledgers became known in the first sweep; the next one reads the wallet's balances.
		f.clock.Advance(time.Minute)
		f.sweep()
		bals, err := f.store.WalletBalances(ctx, w.wallet)
		if err != nil {
			t.Fatal(err)
		}
		got := map[registry.CanisterID]string{}
		for _, b := range bals {
			got[b.Ledger] = b.Amount
		}
		if got[w.token] != "777" || got[w.powLedger] != "888" || len(got) != 2 {
			t.Fatalf("balances = %v", got)
		}
		want := []string{"balance:" + string(w.token), "balance:" + string(w.powLedger)}
		slices.Sort(want)
		byName := eventsByName(t, f.drainEvents())
		if got := changedOf(t, byName, w.wallet); !slices.Equal(got, want) {
			t.Errorf("wallet changed = %q, want %q", got, want)
		}
	})

	t.Run("Unchanged", func(t *testing.T) {
		f.clock.Advance(time.Minute)
		history, _ := f.store.CanisterHistory(ctx, w.token, registry.Page{Limit: 100})
		res := f.sweep()
		if res.Refreshed != 5 || res.Changed != 0 {
			t.Fatalf("unchanged sweep = %+v", res)
		}
		if evs := f.drainEvents(); len(evs) != 0 {
			t.Fatalf("unchanged sweep published %d events: %+v", len(evs), evs)
		}
		if n := f.statsCount(w.miner); n != 3 {
			t.Errorf("miner_stats rows = %d, want one per observation (3)", n)
		}
		after, _ := f.store.CanisterHistory(ctx, w.token, registry.Page{Limit: 100})
		if len(after.Items) != len(history.Items) {
			t.Errorf("history grew from %d to %d rows without a change", len(history.Items), len(after.Items))
		}
	})

	t.Run("Changed", func(t *testing.T) {
		f.clock.Advance(time.Minute)
		f.double.Canister(w.token.Principal()).SetModuleHash(hash32(0xaa))
		w.ledger.SetInfo(ictest.LedgerInfo{Name: "Alpha", Symbol: "ALP", Decimals: 8,
			Fee: big.NewInt(10_000), TotalSupply: big.NewInt(2_000_000)})
		f.double.Canister(w.wallet.Principal()).SetControllers(w.ctrl, principalN(101))
		w.ledger.SetBalance(w.wallet.Principal(), big.NewInt(778))
		w.minerProg.SetInfo(ictest.MinerInfo{IsMining: false, SpeedPercentage: 50, ChunkSize: 1000, ChunksPerRefresh: 10, ICRCVersion: 1})

		res := f.sweep()
		if res.Refreshed != 5 || res.Changed != 3 {
			t.Fatalf("sweep after changes = %+v, want 3 changed", res)
		}
		byName := eventsByName(t, f.drainEvents())
		mh := byName[registry.EventModuleHashChanged]
		if len(mh) != 1 || mh[0]["canister_id"] != string(w.token) || mh[0]["new"] != string(hexOf(0xaa)) || mh[0]["old"] != string(hexOf(1)) {
			t.Errorf("module_hash.changed = %v", mh)
		}
		ctl := byName[registry.EventControllersChanged]
		if len(ctl) != 1 || ctl[0]["canister_id"] != string(w.wallet) || len(ctl[0]["new"].([]any)) != 2 {
			t.Errorf("controllers.changed = %v", ctl)
		}
		checks := map[registry.CanisterID][]string{
			w.token:  {"module_hash", "install", "total_supply"}, // the double stamps the new module as installed now
			w.wallet: {"controllers", "balance:" + string(w.token)},
			w.miner:  {"current_token", "is_mining"},
		}
		for id, want := range checks {
			if got := changedOf(t, byName, id); !slices.Equal(got, want) {
				t.Errorf("%s changed = %q, want %q", id, got, want)
			}
		}
		page, err := f.store.CanisterHistory(ctx, w.token, registry.Page{Limit: 100})
		if err != nil || len(page.Items) != 5 || page.Items[0].Field != registry.ChangeInstall || page.Items[1].New != string(hexOf(0xaa)) {
			t.Errorf("token history = %+v, %v", page.Items, err)
		}
	})
}

func hexOf(b byte) []byte {
	const digits = "0123456789abcdef"
	out := make([]byte, 64)
	for i := 0; i < 64; i += 2 {
		out[i], out[i+1] = digits[b>>4], digits[b&0xf]
	}
	return out
}
