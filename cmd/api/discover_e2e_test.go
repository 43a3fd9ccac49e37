package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"canistry/pkg/ic/ictest"
	"canistry/pkg/registry"
)

// getJSON GETs url and decodes the reply into v; it reports the status.
func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		return 0
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: %v: %s", url, err, body)
		}
	}
	return res.StatusCode
}

type e2eRuns struct {
	Items []registry.DiscoveryRun `json:"items"`
}

// TestDiscoveryAndWallets_Binaries runs SNS discovery and wallet balances through the real
// binaries: the api, the poller and the notifier built from this tree, against the replica
// double serving SNS-W at its mainnet id with two DAOs. POST /discover/sns makes the poller
// register every DAO canister (named from the ledger symbol, tagged sns:<root>), a second run
// changes nothing, the run is announced on /ws as discovery.completed, and a wallet registered
// by hand is then read in the discovered SNS ledgers: GET /wallets/{id} has its exact balance
// with symbol and decimals, and /balances its series.
func TestDiscoveryAndWallets_Binaries(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binaries")
	}
	double := ictest.NewServer(t)
	daos := double.InstallSNSDemo(2)
	walletP := ictest.CanisterID(900)
	double.AddCanister(walletP, []byte(strings.Repeat("w", 32)), ictest.CanisterID(901))
	huge, _ := new(big.Int).SetString("340282366920938463463374607431768211456", 10)
	daos[0].Ledger.SetBalance(walletP, huge)
	daos[1].Ledger.SetBalance(walletP, big.NewInt(250_000_000))

	bin := buildBinaries(t)
	data := t.TempDir()
	apiAddr, notifierAddr, pollerAddr, natsAddr := freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
	env := append(os.Environ(), "DATA_DIR="+data, "API_ADDR="+apiAddr, "NOTIFIER_ADDR="+notifierAddr, "POLLER_ADDR="+pollerAddr,
		"NOTIFIER_URL=http://"+notifierAddr, "NATS_URL=nats://"+natsAddr, "NATS_TOKEN=test-token-0123456789",
		"ADMIN_API_KEY="+dashboardKey, "IC_URL="+double.URL(), "IC_FETCH_ROOT_KEY=true", "HEARTBEAT_INTERVAL=1s",
		"REFRESH_SCHEDULE=@every 2s", "DISCOVER_SCHEDULE=off", "WS_ALLOWED_ORIGINS=*")
	for _, name := range []string{"api", "poller", "notifier"} {
		p := startBin(t, bin, name, env)
		defer p.stop(t)
	}
	base := "http://" + apiAddr
	waitFor(t, "the notifier through the api", func() bool { return httpStatus(base+"/ws-status") == http.StatusOK })
	waitFor(t, "the poller ready", func() bool { return httpStatus("http://"+pollerAddr+"/readyz") == http.StatusOK })

	ws, _, err := websocket.DefaultDialer.DialContext(t.Context(), "ws://"+apiAddr+"/ws?events="+url.QueryEscape(registry.EventDiscoveryCompleted), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()

	discover := func(want int) registry.DiscoveryRun {
		t.Helper()
		if code, out := dashboardAdmin(t, "POST", base+"/discover/sns", ""); code != http.StatusAccepted {
			t.Fatalf("POST /discover/sns: %d %s", code, out)
		}
		var runs e2eRuns
		waitFor(t, fmt.Sprintf("discovery run %d", want), func() bool {
			return getJSON(t, base+"/discover/sns", &runs) == http.StatusOK && len(runs.Items) == want
		})
		return runs.Items[0]
	}
	first := discover(1)
	if first.DAOs != 2 || first.Found != 12 || first.Added != 12 || first.Failed != 0 {
		t.Fatalf("first run %+v", first)
	}
	_ = ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	var ev struct {
		Event string                `json:"event"`
		Data  registry.DiscoveryRun `json:"data"`
	}
	if err := ws.ReadJSON(&ev); err != nil || ev.Event != registry.EventDiscoveryCompleted || ev.Data.Added != 12 {
		t.Fatalf("/ws: %+v %v", ev, err)
	}
	root := daos[0].Root.Canisters()
	var list struct {
		Items []struct {
			CanisterID string   `json:"canister_id"`
			Kind       string   `json:"kind"`
			Name       string   `json:"name"`
			Tags       []string `json:"tags"`
		} `json:"items"`
	}
	getJSON(t, base+"/canisters?tag="+url.QueryEscape("sns:"+root.Root.Encode()), &list)
	if len(list.Items) != 6 || list.Items[2].CanisterID != root.Ledger.Encode() || list.Items[2].Kind != "token" || list.Items[2].Name != "SNSA ledger" {
		t.Fatalf("DAO canisters %+v", list.Items)
	}
	if again := discover(2); again.Added != 0 || again.Updated != 0 || again.Unchanged != 12 {
		t.Errorf("second run %+v", again)
	}

	wallet := walletP.Encode()
	if code, out := dashboardAdmin(t, "POST", base+"/canisters", fmt.Sprintf(`{"canister_id":%q,"kind":"wallet","name":"treasury"}`, wallet)); code != http.StatusCreated {
		t.Fatalf("register the wallet: %d %s", code, out)
	}
	var w struct {
		Balances []struct {
			LedgerID string  `json:"ledger_id"`
			Symbol   *string `json:"symbol"`
			Decimals *int    `json:"decimals"`
			Amount   string  `json:"amount"`
		} `json:"balances"`
	}
	waitFor(t, "the wallet's balances in both SNS ledgers", func() bool {
		return getJSON(t, base+"/wallets/"+wallet, &w) == http.StatusOK && len(w.Balances) == 2 &&
			w.Balances[0].Symbol != nil && w.Balances[1].Symbol != nil
	})
	for _, b := range w.Balances {
		if b.LedgerID == root.Ledger.Encode() && (*b.Symbol != "SNSA" || b.Amount != huge.String() || b.Decimals == nil || *b.Decimals != 8) {
			t.Errorf("SNSA balance %+v", b)
		}
	}
	var series struct {
		Series []struct {
			Amount string `json:"amount"`
		} `json:"series"`
	}
	if getJSON(t, base+"/wallets/"+wallet+"/balances?ledger="+root.Ledger.Encode(), &series); len(series.Series) != 1 || series.Series[0].Amount != huge.String() {
		t.Errorf("series %+v", series)
	}
}
