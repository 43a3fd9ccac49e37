package main

import (
	"bytes"
	"context"
	"fmt"
	"math/big"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"canistry/pkg/bus"
	"canistry/pkg/ic"
	"canistry/pkg/ic/ictest"
	"canistry/pkg/lifecycle/runtest"
	"canistry/pkg/poll"
	"canistry/pkg/registry"
	"canistry/pkg/store"
)

// walletBalance2 is the wallet's second balance: above 2^64, shown with 8 decimals.
const (
	walletBalance2    = "123456789012345678901234567"
	walletBalance2Fmt = "1,234,567,890,123,456,789.01234567 ALP"
)

// TestDashboard_WalletChromium reads a wallet page in headless Chromium: the real api (its run
// function) serving what the real poller read from the replica double in two sweeps (the
// wallet's balance in an ICRC-1 ledger changed between them): the exact balance with the
// ledger's symbol and decimals, a stepped chart with one point per change whose read-out is
// exact, the wallets list, and no sideways scrolling at 400 px. Nothing may reach the console.
func TestDashboard_WalletChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("drives Chromium")
	}
	b := newBrowser(t)
	ctx := t.Context()
	double := ictest.NewServer(t)
	ledgerP, walletP := ictest.CanisterID(1), ictest.CanisterID(2)
	ledger := ictest.NewLedger(ictest.LedgerInfo{Name: "Alpha Coin", Symbol: "ALP", Decimals: 8, Fee: big.NewInt(10_000), TotalSupply: big.NewInt(1 << 62)})
	double.AddCanister(ledgerP, bytes.Repeat([]byte{1}, 32), ictest.CanisterID(100)).Install(ledger)
	double.AddCanister(walletP, bytes.Repeat([]byte{2}, 32), ictest.CanisterID(100))
	ledger.SetBalance(walletP, big.NewInt(150_000_000))

	data, natsAddr := t.TempDir(), freeAddr(t)
	const natsToken = "wallet-nats-token-0123456789"
	api := runtest.Start(t, run, map[string]string{"DATA_DIR": data, "API_ADDR": freeAddr(t), "NATS_URL": "nats://" + natsAddr,
		"NATS_TOKEN": natsToken, "NOTIFIER_URL": "http://" + freeAddr(t), "ADMIN_API_KEY": dashboardKey, "HEARTBEAT_INTERVAL": "200ms"})
	runtest.WaitHTTP(t, api.URL("/readyz"), http.StatusOK)
	wallet, token := registry.CanisterID(walletP.Encode()), registry.CanisterID(ledgerP.Encode())
	for _, c := range []struct {
		id         registry.CanisterID
		kind, name string
	}{{token, "token", "alpha ledger"}, {wallet, "wallet", "team treasury"}} {
		body := fmt.Sprintf(`{"canister_id":%q,"kind":%q,"name":%q}`, c.id, c.kind, c.name)
		if code, out := dashboardAdmin(t, "POST", api.URL("/canisters"), body); code != http.StatusCreated {
			t.Fatalf("register %s: %d %s", c.id, code, out)
		}
	}
	st, err := store.Open(ctx, filepath.Join(data, "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	conn, err := bus.Connect(bus.ConnectConfig{URL: "nats://" + natsAddr, Token: natsToken, Name: "wallet-test-poller"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	client, err := poll.NewClient(ctx, ic.Config{URL: double.URL(), FetchRootKey: true}, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The poller's clock starts 5 h ago and moves 2 h per sweep, so every canister is due at
	// each sweep and the balance points fall inside the page's default 24 h window.
	var offset atomic.Int64
	offset.Store(int64(-5 * time.Hour))
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	p, err := poll.New(poll.Config{Schedule: "@every 1h", Concurrency: 4, Timeout: 30 * time.Second, Spread: -1, Now: now}, st, client, conn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Stop(context.Background()) })
	// Three sweeps, 5, 3 and 1 h ago: the token and the wallet's first balance, then its
	// second balance in the last one.
	for i := range 3 {
		if i == 2 {
			v, _ := new(big.Int).SetString(walletBalance2, 10)
			ledger.SetBalance(walletP, v)
		}
		if _, err := p.Sweep(ctx); err != nil {
			t.Fatalf("sweep %d: %v", i, err)
		}
		offset.Add(int64(2 * time.Hour))
	}
	base := api.URL("")

	b.do("open the wallets", chromedp.Navigate(base+"/ui/wallets"))
	b.rendered("Wallets")
	if got := wait[string](b, "balance in the list", `document.querySelector('main tbody .balance')?.textContent`); got != walletBalance2Fmt {
		t.Errorf("list balance %q, want %q", got, walletBalance2Fmt)
	}
	b.do("open the wallet", chromedp.Click(`main tbody a`))
	b.rendered("Wallet")
	wait[bool](b, "wallet URL", fmt.Sprintf(`location.pathname === '/ui/wallets/%s'`, wallet))
	if got := wait[string](b, "balance", `document.querySelector('main td .balance')?.textContent`); got != walletBalance2Fmt {
		t.Errorf("balance %q, want %q", got, walletBalance2Fmt)
	}
	if got := wait[string](b, "ledger", `document.querySelector('main td a')?.textContent`); got != "ALP" {
		t.Errorf("ledger link %q, want ALP", got)
	}
	if n := wait[int](b, "points", `+document.querySelector('#chart-balance-0')?.dataset.points`); n != 2 {
		t.Errorf("%d points on the balance chart, want 2 (one per change)", n)
	}
	// The first point is drawn at the bottom edge (1.5 against 10^18): the cursor goes to its
	// time at mid height, where uPlot still picks the point nearest in time.
	for _, c := range []struct {
		index int
		want  string
	}{{0, "1.5 ALP"}, {1, walletBalance2Fmt}} {
		pos := wait[[]float64](b, "point", fmt.Sprintf(`(() => {
			const f = document.getElementById('chart-balance-0'), u = f.uplot, r = u.over.getBoundingClientRect();
			f.scrollIntoView({ block: 'center' });
			return [r.left + u.valToPos(u.data[0][%d], 'x'), r.top + r.height / 2];
		})()`, c.index))
		b.do("hover", chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, pos[0], pos[1]))
		value := `document.querySelector('#chart-balance-0 .u-legend .u-series:nth-child(2) .u-value').textContent`
		if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](fmt.Sprintf(`%s === %q`, value, c.want), chromedp.WithPollingTimeout(10*time.Second))); err != nil {
			got, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](value))
			t.Errorf("read-out of point %d: %q, want %q", c.index, got, c.want)
		}
	}

	b.do("400 px", chromedp.EmulateViewport(400, 860))
	b.do("reload", chromedp.Navigate(base+"/ui/wallets/"+string(wallet)))
	b.rendered("Wallet")
	if fit := wait[[]int](b, "layout", `[document.documentElement.scrollWidth, innerWidth]`); fit[0] > fit[1] {
		t.Errorf("the wallet page at 400 px is %d px wide", fit[0])
	}
	if w := wait[int](b, "chart width", `document.querySelector('#chart-balance-0 canvas') && Math.round(document.getElementById('chart-balance-0').getBoundingClientRect().right)`); w > 400 {
		t.Errorf("the chart reaches %d px at 400 px", w)
	}
	b.screenshot("wallet-400")
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.console) > 0 {
		t.Errorf("console: %q", b.console)
	}
}
