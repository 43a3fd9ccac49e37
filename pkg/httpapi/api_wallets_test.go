package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"canistry/pkg/bus"
	"canistry/pkg/registry"
	"canistry/pkg/store/storetest"
)

// seedWallet stores three observations of idWallet's balances: in the ICP ledger (idLedger, a
// token) and in idToken2's ledger, the second changing once.
func seedWallet(t *testing.T, a *testAPI) {
	t.Helper()
	now := a.Clock.Now()
	for i, amount := range []string{"5", "340282366920938463463374607431768211456", "340282366920938463463374607431768211456"} {
		at := now.Add(time.Duration(i-3) * time.Hour)
		_, err := storetest.SaveBalances(t.Context(), a.Store, idWallet, []registry.Balance{
			{Ledger: idLedger, Amount: "100000000", UpdatedAt: at}, {Ledger: idToken2, Amount: amount, UpdatedAt: at}})
		if err != nil {
			t.Fatal(err)
		}
	}
}

type apiWallet struct {
	Canister struct {
		CanisterID string `json:"canister_id"`
		Kind       string `json:"kind"`
	} `json:"canister"`
	Balances []struct {
		LedgerID string  `json:"ledger_id"`
		Symbol   *string `json:"symbol"`
		Decimals *int    `json:"decimals"`
		Amount   string  `json:"amount"`
	} `json:"balances"`
}

func TestAPI_Wallets(t *testing.T) {
	a := newTestAPI(t, apiOptions{adminKey: testAdminKey})
	seedObserved(t, a)
	seedWallet(t, a)

	t.Run("Get", func(t *testing.T) {
		var w apiWallet
		a.do("GET", "/wallets/"+string(idWallet), nil).JSON(t, &w)
		if w.Canister.CanisterID != string(idWallet) || w.Canister.Kind != "wallet" || len(w.Balances) != 2 {
			t.Fatalf("wallet %+v", w)
		}
		for _, b := range w.Balances {
			if b.Symbol == nil || b.Decimals == nil || *b.Decimals != 8 {
				t.Errorf("balance without symbol or decimals: %+v", b)
			}
			if b.LedgerID == string(idToken2) && b.Amount != "340282366920938463463374607431768211456" {
				t.Errorf("amount %q: want the exact nat", b.Amount)
			}
		}
	})
	t.Run("List", func(t *testing.T) {
		var page struct {
			Items []apiWallet `json:"items"`
			Total int         `json:"total"`
		}
		a.do("GET", "/wallets?limit=1", nil).JSON(t, &page)
		if page.Total != 1 || len(page.Items) != 1 || len(page.Items[0].Balances) != 2 {
			t.Errorf("list %+v", page)
		}
	})
	t.Run("Series", func(t *testing.T) {
		var r struct {
			Series []struct {
				LedgerID string `json:"ledger_id"`
				Amount   string `json:"amount"`
			} `json:"series"`
			NextCursor *string `json:"next_cursor"`
		}
		a.do("GET", "/wallets/"+string(idWallet)+"/balances", nil).JSON(t, &r)
		if len(r.Series) != 3 || r.NextCursor != nil {
			t.Errorf("series %+v", r)
		}
		a.do("GET", "/wallets/"+string(idWallet)+"/balances?ledger="+string(idToken2)+"&limit=1", nil).JSON(t, &r)
		if len(r.Series) != 1 || r.Series[0].Amount != "5" || r.NextCursor == nil {
			t.Errorf("first page of one ledger %+v", r)
		}
		a.do("GET", "/wallets/"+string(idWallet)+"/balances?ledger="+string(idToken2)+"&limit=1&cursor="+*r.NextCursor, nil).JSON(t, &r)
		if len(r.Series) != 1 || r.Series[0].Amount != "340282366920938463463374607431768211456" {
			t.Errorf("second page %+v", r)
		}
	})
	t.Run("Errors", func(t *testing.T) {
		for _, c := range []struct {
			path   string
			status int
		}{
			{"/wallets/" + string(idMiner), http.StatusNotFound},
			{"/wallets/" + string(idMiner) + "/balances", http.StatusNotFound},
			{"/wallets/not-a-principal", http.StatusBadRequest},
			{"/wallets/" + string(idWallet) + "/balances?ledger=x", http.StatusBadRequest},
			{"/wallets/" + string(idWallet) + "/balances?from=yesterday", http.StatusBadRequest},
			{"/wallets?limit=0", http.StatusBadRequest},
		} {
			if r := a.do("GET", c.path, nil); r.Status != c.status {
				t.Errorf("GET %s = %d %s, want %d", c.path, r.Status, r.Body, c.status)
			}
		}
	})
}

func TestAPI_DiscoverSNS(t *testing.T) {
	a := newTestAPI(t, apiOptions{adminKey: testAdminKey})
	got := make(chan bus.DiscoverRequest, 1)
	if _, err := bus.Subscribe(a.Bus, bus.SubjectDiscover, "", func(_ string, r bus.DiscoverRequest) { got <- r }); err != nil {
		t.Fatal(err)
	}
	if err := a.Bus.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if r := a.do("POST", "/discover/sns", nil); r.Status != http.StatusUnauthorized {
		t.Errorf("POST without key = %d", r.Status)
	}
	if r := a.admin("POST", "/discover/sns", nil); r.Status != http.StatusAccepted {
		t.Fatalf("POST = %d %s", r.Status, r.Body)
	}
	select {
	case r := <-got:
		if r.Source != "sns" {
			t.Errorf("request %+v", r)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no discovery request on the bus")
	}
	run := registry.DiscoveryRun{Source: registry.DiscoverySNS, Trigger: "request", StartedAt: a.Clock.Now(), DAOs: 1}
	found := registry.SNSCanisters{Root: idLedger, Ledger: idToken2}.Discover("ICP")
	if _, _, err := a.Store.ApplyDiscovery(t.Context(), run, found, nil); err != nil {
		t.Fatal(err)
	}
	var page struct {
		Items []registry.DiscoveryRun `json:"items"`
	}
	a.do("GET", "/discover/sns", nil).JSON(t, &page)
	if len(page.Items) != 1 || page.Items[0].Added != 2 || len(page.Items[0].AddedIDs) != 2 {
		t.Errorf("runs %+v", page.Items)
	}
}
