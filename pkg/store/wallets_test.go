package store_test

import (
	"testing"
	"time"

	"canistry/pkg/registry"
	"canistry/pkg/store/storetest"
)

func TestStore_Wallets(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := openStore(t, b.DB(t))
		ctx := t.Context()
		wallet, other := registry.CanisterID("ryjl3-tyaaa-aaaaa-aaaba-cai"), registry.CanisterID("rrkah-fqaaa-aaaaa-aaaaq-cai")
		ledger, powLedger := registry.CanisterID("mxzaz-hqaaa-aaaar-qaada-cai"), registry.CanisterID("qhbym-qaaaa-aaaaa-aaafq-cai")
		pow := registry.CanisterID("renrk-eyaaa-aaaaa-aaada-cai")
		for _, c := range []registry.Canister{{ID: wallet, Kind: registry.KindWallet}, {ID: other, Kind: registry.KindOther},
			{ID: ledger, Kind: registry.KindToken}, {ID: pow, Kind: registry.KindToken}} {
			if _, err := s.CreateCanister(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := storetest.SaveToken(ctx, s, registry.TokenInfo{CanisterID: ledger, Symbol: "ckBTC", Decimals: 8, Interfaces: []string{registry.InterfaceICRC1}}); err != nil {
			t.Fatal(err)
		}
		if _, err := storetest.SaveToken(ctx, s, registry.TokenInfo{CanisterID: pow, Symbol: "POW", Decimals: 6, LedgerID: string(powLedger)}); err != nil {
			t.Fatal(err)
		}
		t0 := time.UnixMilli(1_700_000_000_000).UTC()
		big := "340282366920938463463374607431768211456"
		for i, amounts := range [][2]string{{"1", "5"}, {"1", "6"}, {big, "6"}} {
			at := t0.Add(time.Duration(i) * time.Hour)
			_, err := storetest.SaveBalances(ctx, s, wallet, []registry.Balance{{Ledger: ledger, Amount: amounts[0], UpdatedAt: at},
				{Ledger: powLedger, Amount: amounts[1], UpdatedAt: at}})
			if err != nil {
				t.Fatal(err)
			}
		}
		w, err := s.GetWallet(ctx, wallet)
		if err != nil || len(w.Balances) != 2 {
			t.Fatalf("wallet %+v %v", w, err)
		}
		ck, pw := w.Balances[0], w.Balances[1]
		if ck.Ledger != ledger || ck.Symbol != "ckBTC" || ck.Decimals == nil || *ck.Decimals != 8 || ck.Amount != big ||
			!ck.UpdatedAt.Equal(t0.Add(2*time.Hour)) {
			t.Errorf("ckBTC balance %+v", ck)
		}
		if pw.Ledger != powLedger || pw.Symbol != "POW" || pw.Decimals == nil || *pw.Decimals != 6 || pw.Amount != "6" {
			t.Errorf("PoW ledger balance %+v", pw)
		}
		if _, err := s.GetWallet(ctx, other); registry.ErrorCode(err) != registry.ENOTFOUND {
			t.Errorf("GetWallet of a non-wallet: %v", err)
		}
		list, err := s.ListWallets(ctx, registry.CanisterFilter{Page: registry.Page{WithTotal: true}})
		if err != nil || len(list.Items) != 1 || *list.Total != 1 || len(list.Items[0].Balances) != 2 {
			t.Fatalf("ListWallets %+v %v", list, err)
		}
		// The series: one point per change, 4 in all (2 first sightings, then one change each hour).
		r := registry.StatsRange{From: t0, To: t0.Add(3 * time.Hour)}
		series, err := s.BalanceRange(ctx, wallet, "", r)
		if err != nil || len(series.Items) != 4 || series.Items[3].Amount != big {
			t.Fatalf("series %+v %v", series.Items, err)
		}
		one, err := s.BalanceRange(ctx, wallet, powLedger, r)
		if err != nil || len(one.Items) != 2 || one.Items[1].Amount != "6" || !one.Items[1].ObservedAt.Equal(t0.Add(time.Hour)) {
			t.Fatalf("PoW ledger series %+v %v", one.Items, err)
		}
		r.Page.Limit = 3
		p1, err := s.BalanceRange(ctx, wallet, "", r)
		if err != nil || len(p1.Items) != 3 || p1.Next == nil {
			t.Fatalf("page 1 %+v %v", p1, err)
		}
		n, err := s.PruneBalanceHistory(ctx, t0.Add(90*time.Minute))
		if err != nil || n != 3 {
			t.Errorf("pruned %d, %v; want 3", n, err)
		}
		if w2, _ := s.GetWallet(ctx, wallet); len(w2.Balances) != 2 {
			t.Errorf("pruning the series dropped latest balances: %+v", w2)
		}
		// A wallet that becomes another kind loses its balances and their series.
		kind := registry.KindOther
		if _, err := s.UpdateCanister(ctx, wallet, registry.CanisterUpdate{Kind: &kind}); err != nil {
			t.Fatal(err)
		}
		if left, err := s.BalanceRange(ctx, wallet, "", r); err != nil || len(left.Items) != 0 {
			t.Errorf("series after the kind change: %+v %v", left.Items, err)
		}
	})
}
