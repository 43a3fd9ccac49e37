package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aviate-labs/agent-go/principal"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"canistry/pkg/bus"
	"canistry/pkg/ic"
	"canistry/pkg/ic/ictest"
	"canistry/pkg/lifecycle/runtest"
	"canistry/pkg/poll"
	"canistry/pkg/registry"
	"canistry/pkg/store"
	"canistry/pkg/store/storetest"
)

// dashboardWorld is the data the dashboard test browses: canisters on the replica double,
// registered through the REST API and read by the real poller, plus a stats history.
type dashboardWorld struct {
	api      *runtest.Proc
	notifier *binProc
	token    registry.CanisterID // an ICRC-1 ledger with a supply above 2^64
	miner    registry.CanisterID // mining token, with a day of stats
	holed    registry.CanisterID // controlled only by the public blackhole
	points   int                 // stats observations of the miner in the last 24 h
	statsAt  time.Time           // the miner's stats i (1…15) were observed at statsAt − i×90 min

	double      *ictest.Server // the replica the poller reads
	ledger      *ictest.Ledger // the token's ledger program (balances)
	poller      *poll.Poller
	notifierURL string // http://host:port
}

// dashboardSupply is the token's total supply: above 2^64 (18446744073709551616), shown with
// 8 decimals as 1,234,567,890,123,456,789.01234567.
const (
	dashboardSupply    = "123456789012345678901234567"
	dashboardSupplyFmt = "1,234,567,890,123,456,789.01234567"
	dashboardKey       = "dashboard-admin-key-0123456789abcdef"
	dashboardCycles    = "25000000000000000000001" // above 2^64
	// dashboardPublicCycles is the ledger's balance, read from its public status.
	dashboardPublicCycles = "7000000000000"
	dashboardNotifyKey    = "dashboard-notify-key-0123456789"
)

const tinyPNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="

func startDashboardWorld(t *testing.T) *dashboardWorld {
	t.Helper()
	ctx := t.Context()
	double := ictest.NewServer(t)
	w := &dashboardWorld{token: registry.CanisterID(ictest.CanisterID(1).Encode()),
		miner: registry.CanisterID(ictest.CanisterID(2).Encode()), holed: registry.CanisterID(ictest.CanisterID(3).Encode())}
	supply, _ := new(big.Int).SetString(dashboardSupply, 10)
	owner := ictest.CanisterID(100)
	index := ictest.CanisterID(5)
	w.ledger = ictest.NewLedger(ictest.LedgerInfo{
		Name: "Alpha Coin", Symbol: "ALP", Decimals: 8, Fee: big.NewInt(10_000), TotalSupply: supply,
		Logo: "data:image/png;base64," + tinyPNG, ICRC10: true, IndexPrincipal: &index,
		Standards: []ictest.Standard{{Name: "ICRC-1", URL: "https://github.com/dfinity/ICRC-1"}, {Name: "ICRC-3", URL: "https://github.com/dfinity/ICRC-1"},
			{Name: "ICRC-106", URL: "https://github.com/dfinity/ICRC"}}})
	ledger := double.AddCanister(ictest.CanisterID(1), bytes.Repeat([]byte{1}, 32), owner).Install(w.ledger)
	// The ledger's status is public (interface spec 0.65.0): its cycles come from the management
	// canister's canister_status query, with no status canister among its controllers.
	ledger.SetStatusPublic(true)
	publicCycles, _ := new(big.Int).SetString(dashboardPublicCycles, 10)
	ledger.SetStatus(ictest.CanisterStatus{Cycles: publicCycles, MemorySize: big.NewInt(5 << 20), IdleCyclesBurnedPerDay: big.NewInt(2_000_000_000)})
	tokenP := ictest.CanisterID(1)
	m := ictest.NewMiner(ictest.MinerInfo{CurrentToken: &tokenP, IsMining: true, SpeedPercentage: 75, ChunkSize: 1000,
		ChunksPerRefresh: 10, ICRCVersion: 1}, ictest.CycleUsage{})
	m.SetStats(&ictest.MiningStats{BlocksMined: 30, TotalHashes: 1 << 40, LastHashRate: 99.5, TotalRewards: 1500})
	double.AddCanister(ictest.CanisterID(2), bytes.Repeat([]byte{2}, 32), owner).Install(m)
	hole, err := principal.Decode(registry.KnownBlackholes[0])
	if err != nil {
		t.Fatal(err)
	}
	double.AddCanister(ictest.CanisterID(3), bytes.Repeat([]byte{3}, 32), hole)
	bh := ictest.NewBlackhole() // the public status canister serving the frozen vault's cycles
	double.AddCanister(hole, bytes.Repeat([]byte{9}, 32)).Install(bh)
	cycles, _ := new(big.Int).SetString(dashboardCycles, 10)
	bh.SetStatus(ictest.CanisterID(3), ictest.CanisterStatus{Cycles: cycles, MemorySize: big.NewInt(3 << 20), IdleCyclesBurnedPerDay: big.NewInt(1_000_000_000)})

	bin := t.TempDir()
	if out, err := exec.Command("go", "build", "-o", filepath.Join(bin, "notifier"), "canistry/cmd/notifier").CombinedOutput(); err != nil {
		t.Fatalf("build notifier: %v\n%s", err, out)
	}
	data, natsAddr, notifierAddr, apiAddr := t.TempDir(), freeAddr(t), freeAddr(t), freeAddr(t)
	const natsToken = "dashboard-nats-token-0123456789"
	env := map[string]string{"DATA_DIR": data, "API_ADDR": apiAddr, "NATS_URL": "nats://" + natsAddr, "NATS_TOKEN": natsToken,
		"NOTIFIER_URL": "http://" + notifierAddr, "ADMIN_API_KEY": dashboardKey, "HEARTBEAT_INTERVAL": "200ms"}
	w.api = runtest.Start(t, run, env)
	runtest.WaitHTTP(t, w.api.URL("/readyz"), http.StatusOK)
	w.notifier = startBin(t, bin, "notifier", append(os.Environ(), "DATA_DIR="+data, "NOTIFIER_ADDR="+notifierAddr,
		"NATS_URL=nats://"+natsAddr, "NATS_TOKEN="+natsToken, "NOTIFY_API_KEYS="+dashboardNotifyKey,
		"WS_ALLOWED_ORIGINS=http://"+apiAddr, "HEARTBEAT_INTERVAL=200ms"))
	waitFor(t, "the notifier ready", func() bool { return httpStatus("http://"+notifierAddr+"/readyz") == http.StatusOK })

	for _, c := range []struct {
		id         registry.CanisterID
		kind, name string
	}{{w.token, "token", "alpha ledger"}, {w.miner, "miner", "rig one"}, {w.holed, "other", "frozen vault"}} {
		body := fmt.Sprintf(`{"canister_id":%q,"kind":%q,"name":%q}`, c.id, c.kind, c.name)
		if code, out := dashboardAdmin(t, "POST", w.api.URL("/canisters"), body); code != http.StatusCreated {
			t.Fatalf("register %s: %d %s", c.id, code, out)
		}
	}
	if code, out := dashboardAdmin(t, "PUT", w.api.URL("/module-hashes/"+strings.Repeat("01", 32)), `{"name":"alpha-ledger","version":"1.2.0"}`); code != http.StatusCreated {
		t.Fatalf("known build: %d %s", code, out)
	}

	// The real poller, reading the double, writes into the api's database.
	st, err := store.Open(ctx, filepath.Join(data, "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	conn, err := bus.Connect(bus.ConnectConfig{URL: "nats://" + natsAddr, Token: natsToken, Name: "dashboard-test-poller"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	client, err := poll.NewClient(ctx, ic.Config{URL: double.URL(), FetchRootKey: true}, 0)
	if err != nil {
		t.Fatal(err)
	}
	p, err := poll.New(poll.Config{Schedule: "@every 1h", Concurrency: 4, Timeout: 30 * time.Second, Spread: -1,
		StatsRetention: 40 * 24 * time.Hour}, st, client, conn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Stop(context.Background()) })
	w.double, w.poller, w.notifierURL = double, p, "http://"+notifierAddr
	if res, err := p.Sweep(ctx); err != nil || res.Refreshed != 3 {
		t.Fatalf("sweep: %+v %v", res, err)
	}
	// A day of history before that observation: one sample every 90 minutes, and one 6 days ago.
	now := time.Now().UTC()
	for i := 1; i <= 15; i++ {
		err := storetest.AddMinerStats(ctx, st, registry.MinerStats{CanisterID: w.miner, ObservedAt: now.Add(-time.Duration(i) * 90 * time.Minute),
			BlocksMined: uint64(30 - i), TotalHashes: uint64(1<<40) - uint64(i)<<30, HashRate: 90 + float64(i%4), TotalRewards: uint64(1500 - 50*i)})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := storetest.AddMinerStats(ctx, st, registry.MinerStats{CanisterID: w.miner, ObservedAt: now.Add(-6 * 24 * time.Hour), BlocksMined: 2, HashRate: 50}); err != nil {
		t.Fatal(err)
	}
	w.points = 16 // the poller's observation and the 15 of the last day
	w.statsAt = now
	return w
}

func dashboardAdmin(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+dashboardKey)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(out)
}

// browser is one headless Chromium tab that records every console message, exception, CSP
// violation and failed load.
type browser struct {
	t       *testing.T
	ctx     context.Context
	mu      sync.Mutex
	console []string
	shots   string
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	exe := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			exe = p
			break
		}
	}
	if exe == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is not installed (CI installs it in .ci/run)")
		}
		t.Skip("chromium is not installed")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1400, 900),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelTab)
	b := &browser{t: t, shots: os.Getenv("DASHBOARD_SCREENSHOTS")}
	if b.shots == "" {
		b.shots = t.TempDir()
	}
	// The first call starts the browser; its context must not carry the timeout.
	if err := chromedp.Listen(ctx, func(ev any) {
		b.mu.Lock()
		defer b.mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			b.console = append(b.console, "console."+string(ev.Type))
		case *cdplog.EventEntryAdded:
			b.console = append(b.console, string(ev.Entry.Level)+": "+ev.Entry.Text+" "+ev.Entry.URL)
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			b.console = append(b.console, "exception: "+msg)
		}
	}); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	tctx, cancel := context.WithTimeout(ctx, 3*time.Minute) // hang guard
	t.Cleanup(cancel)
	b.ctx = tctx
	return b
}

func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// wait polls a JavaScript expression until it is truthy and returns its value.
func wait[T any](b *browser, what, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Poll[T](expr, chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil {
		b.t.Fatalf("%s (%s): %v", what, expr, err)
	}
	return v
}

// rendered waits until the page named page has rendered (the shell sets data-page).
func (b *browser) rendered(page string) {
	b.t.Helper()
	wait[bool](b, "page "+page, fmt.Sprintf(`document.querySelector('main').dataset.page === %q && !document.querySelector('main').hasAttribute('aria-busy')`, page))
}

// colorScheme emulates the system's prefers-color-scheme.
func colorScheme(v string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia,
			emulation.SetEmulatedMediaParams{Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: v}}})
		return err
	})
}

// hover moves the mouse onto the point of chart id nearest to at and checks that the chart's
// legend (uPlot's live read-out of the value series) then reads want.
func (b *browser) hover(id string, at time.Time, want string) {
	b.t.Helper()
	pos := wait[[]float64](b, "point of "+id, fmt.Sprintf(`(() => {
		const f = document.getElementById(%q), u = f && f.uplot;
		if (!u) return null;
		f.scrollIntoView({ block: 'center' });
		const xs = u.data[0], ys = u.data[1], T = %f;
		let best = -1;
		xs.forEach((x, i) => { if (ys[i] !== null && (best < 0 || Math.abs(x - T) < Math.abs(xs[best] - T))) best = i; });
		const r = u.over.getBoundingClientRect();
		return [r.left + u.valToPos(xs[best], 'x'), r.top + u.valToPos(ys[best], 'y')];
	})()`, id, float64(at.UnixMilli())/1000))
	b.do("hover "+id, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, pos[0], pos[1]))
	value := fmt.Sprintf(`document.querySelector('#%s .u-legend .u-series:nth-child(2) .u-value').textContent`, id)
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](fmt.Sprintf(`%s === %q`, value, want), chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		got, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](value))
		b.t.Errorf("%s read-out after hovering %s: %q, want %q", id, at.Format(time.RFC3339), got, want)
	}
}

func (b *browser) screenshot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// TestDashboard_Chromium drives every page of the dashboard in headless Chromium against the
// real api (its run function), the real notifier binary and data the real poller read from
// the replica double: navigation, search and filters carried in the URL, cursor paging, a
// supply above 2^64 formatted exactly, a miner chart with one point per stored observation
// and a range picker, the cycles and memory of a canister the blackhole controls, the live
// ticker showing an outcall sent through the intake, badges, and at 400 px no page scrolls
// sideways. Screenshots at 400 and 1400 px go to
// $DASHBOARD_SCREENSHOTS (a temp dir when unset). Nothing may reach the console.
func TestDashboard_Chromium(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the notifier and drives Chromium")
	}
	b := newBrowser(t)
	w := startDashboardWorld(t)
	base := w.api.URL("")
	step := func(name string, fn func(t *testing.T)) {
		t.Run(name, func(t *testing.T) {
			b.t = t // the browser's helpers fail the step that uses them
			defer func() { b.t = nil }()
			fn(t)
		})
	}

	step("Overview", func(t *testing.T) {
		b.do("open /", chromedp.Navigate(base+"/"))
		b.rendered("Overview")
		if got := wait[string](b, "canister count", `document.querySelector('.card .count').textContent`); got != "3" {
			t.Errorf("canisters card %q, want 3", got)
		}
		wait[bool](b, "processes alive", `document.querySelector('main').textContent.includes('alive')`)
		// The public /system/status carries each heartbeat and version: no "never" beside "alive".
		wait[bool](b, "heartbeat of the api", `[...document.querySelectorAll('main tbody tr')].some(r => r.cells[0].textContent === 'api' && / s ago\)$/.test(r.cells[2].textContent) && r.cells[3].textContent !== '')`)
		wait[bool](b, "ticker live", `document.getElementById('ticker-state').textContent === 'live'`)
		// The ticker is the WebSocket client module, through the api's proxy of the notifier.
		wait[bool](b, "the ticker's module", `performance.getEntriesByType('resource').some(r => r.name === location.origin + '/ws/client.js')`)
		ts := time.Now().UnixNano()
		body := fmt.Sprintf(`{"event":"solution_found","miner_id":%q,"timestamp":%d,"data":{"token_id":%q,"block_height":7}}`, w.miner, ts, w.token)
		postOutcall(t, base, body)
		wait[bool](b, "the outcall in the ticker", `[...document.querySelectorAll('#ticker li')].some(li => li.textContent.includes('solution_found') && li.textContent.includes('outcall #'))`)
		b.screenshot("overview-1400")
	})

	step("CanistersSearchAndFilters", func(t *testing.T) {
		b.do("click Canisters", chromedp.Click(`header nav a[href="/ui/canisters"]`))
		b.rendered("Canisters")
		if n := wait[int](b, "rows", `document.querySelectorAll('main tbody tr').length`); n != 3 {
			t.Errorf("%d rows, want 3", n)
		}
		b.do("search", chromedp.SendKeys(`#f-q`, "frozen"), chromedp.Click(`form.filters button[type="submit"]`))
		wait[bool](b, "search in the URL", `location.search === '?q=frozen'`)
		b.rendered("Canisters")
		wait[bool](b, "one row", `document.querySelectorAll('main tbody tr').length === 1 && document.querySelector('main tbody').textContent.includes('frozen vault')`)
		if got := wait[string](b, "badge", `document.querySelector('main tbody .badge').textContent`); got != "blackholed" {
			t.Errorf("badge %q, want blackholed", got)
		}
		// A deep link with a filter renders the filtered page and fills in the form.
		b.do("deep link", chromedp.Navigate(base+"/ui/canisters?badge=verified"))
		b.rendered("Canisters")
		wait[bool](b, "verified only", `document.querySelectorAll('main tbody tr').length === 1 && document.querySelector('main tbody').textContent.includes('alpha ledger') && document.getElementById('f-badge').value === 'verified'`)
	})

	step("Paging", func(t *testing.T) {
		b.do("first page", chromedp.Navigate(base+"/ui/canisters?limit=2"))
		b.rendered("Canisters")
		first := wait[string](b, "page 1", `document.querySelectorAll('main tbody tr').length === 2 && document.querySelector('main tbody').textContent`)
		b.do("next", chromedp.Click(`.pager a.next`))
		wait[bool](b, "cursor in the URL", `new URLSearchParams(location.search).has('cursor') && new URLSearchParams(location.search).get('limit') === '2'`)
		b.rendered("Canisters")
		second := wait[string](b, "page 2", `document.querySelectorAll('main tbody tr').length === 1 && !document.querySelector('.pager a.next') && document.querySelector('main tbody').textContent`)
		if strings.Contains(first, "frozen vault") || !strings.Contains(second, "frozen vault") {
			t.Errorf("pages: %q then %q", first, second)
		}
		url := wait[string](b, "url", `location.href`)
		b.do("reload the deep link", chromedp.Navigate(url))
		b.rendered("Canisters")
		wait[bool](b, "same page after reload", `document.querySelector('main tbody').textContent.includes('frozen vault') && !!document.querySelector('.pager a.first')`)
	})

	step("CanisterHistory", func(t *testing.T) {
		b.do("open", chromedp.Navigate(base+"/ui/canisters/"+string(w.token)))
		b.rendered("Canister")
		// module hash, controllers, and the certified install of the module.
		if got := wait[string](b, "timeline", `document.querySelectorAll('.timeline li').length === 3 && document.querySelector('.timeline').textContent`); !strings.Contains(got, "alpha-ledger 1.2.0") ||
			!strings.Contains(got, "code installed") {
			t.Errorf("timeline %q does not name the known build", got)
		}
		wait[bool](b, "the build linked", `document.querySelector('.timeline a.build')?.textContent === 'alpha-ledger 1.2.0'`)
		wait[bool](b, "verified badge", `document.querySelector('main .badge-verified') !== null`)
	})

	step("BlackholeCycles", func(t *testing.T) {
		b.do("open", chromedp.Navigate(base+"/ui/canisters/"+string(w.holed)))
		b.rendered("Canister")
		if got := wait[string](b, "cycles", `document.querySelector('main .cycles')?.textContent`); got != "25,000,000,000,000,000,000,001" {
			t.Errorf("cycles %q", got)
		}
		if n := wait[int](b, "points", `(+document.querySelector('#chart-cycles')?.dataset.points || 0) + (+document.querySelector('#chart-memory')?.dataset.points || 0)`); n != 2 {
			t.Errorf("%d points on the cycles and memory charts, want one each", n)
		}
		// The hover read-out has every digit of the stored balance; the axis abbreviates (T/B).
		b.hover("chart-cycles", time.Now(), "25,000,000,000,000,000,000,001 cycles")
		b.hover("chart-memory", time.Now(), "3,145,728 bytes")
		// uPlot draws ticks on the canvas; _values holds the labels of its last draw.
		if got := wait[string](b, "value axis", `(document.getElementById('chart-cycles').uplot.axes[1]._values || []).join(' ')`); !strings.Contains(got, " T") {
			t.Errorf("cycles axis %q has no T ticks", got)
		}
		wait[bool](b, "runway", `document.querySelector('main').textContent.includes('25,000,000,000,000 days at the idle rate')`)
	})

	step("PublicStatusCycles", func(t *testing.T) {
		b.do("open", chromedp.Navigate(base+"/ui/canisters/"+string(w.token)))
		b.rendered("Canister")
		if got := wait[string](b, "cycles", `document.querySelector('main .cycles')?.textContent`); got != "7,000,000,000,000" {
			t.Errorf("cycles %q", got)
		}
		wait[bool](b, "source", `document.querySelector('main .cycles-source')?.textContent.includes('status is public')`)
		if n := wait[int](b, "points", `+document.querySelector('#chart-cycles')?.dataset.points || 0`); n != 1 {
			t.Errorf("%d points on the cycles chart, want 1", n)
		}
		b.hover("chart-cycles", time.Now(), "7,000,000,000,000 cycles")
		wait[bool](b, "runway", `document.querySelector('main').textContent.includes('3,500 days at the idle rate')`)
		wait[bool](b, "certified install", `document.querySelector('main').textContent.includes('(certified last install)')`)
		b.do("token page", chromedp.Navigate(base+"/ui/tokens/"+string(w.token)))
		b.rendered("Token")
		wait[bool](b, "index link", `document.querySelector('main a.index-link')?.getAttribute('href') === '/ui/canisters/`+ictest.CanisterID(5).Encode()+`'`)
	})

	step("TokenSupply", func(t *testing.T) {
		b.do("tokens", chromedp.Navigate(base+"/ui/tokens"))
		b.rendered("Tokens")
		if got := wait[string](b, "supply in the list", `document.querySelector('main tbody .supply').textContent`); got != dashboardSupplyFmt {
			t.Errorf("supply %q, want %q", got, dashboardSupplyFmt)
		}
		wait[bool](b, "logo loaded", `(() => { const i = document.querySelector('main img.logo'); return i && i.complete && i.naturalWidth === 1; })()`)
		b.do("token page", chromedp.Click(`main tbody a[href="/ui/tokens/`+string(w.token)+`"]`))
		b.rendered("Token")
		if got := wait[string](b, "supply", `document.querySelector('main .supply').textContent`); got != dashboardSupplyFmt+" ALP" {
			t.Errorf("supply %q", got)
		}
		if got := wait[string](b, "fee", `document.querySelector('main .fee').textContent`); got != "0.0001 ALP" {
			t.Errorf("fee %q", got)
		}
		wait[bool](b, "its miner", `document.querySelector('main').textContent.includes('rig one')`)
	})

	step("MinerChart", func(t *testing.T) {
		b.do("miner", chromedp.Navigate(base+"/ui/miners/"+string(w.miner)))
		b.rendered("Miner")
		for _, id := range []string{"chart-hash-rate", "chart-blocks"} {
			if n := wait[int](b, "points", `+document.getElementById('`+id+`').dataset.points`); n != w.points {
				t.Errorf("%d points on the 24h %s, want %d", n, id, w.points)
			}
		}
		if got := wait[string](b, "caption", `document.querySelector('#chart-hash-rate .caption').textContent`); got != fmt.Sprintf("%d points in the last 24 h", w.points) {
			t.Errorf("caption %q", got)
		}
		// Hovering the third stored observation reads its exact values in the legends.
		at := w.statsAt.Add(-3 * 90 * time.Minute)
		b.hover("chart-hash-rate", at, "93 hashes/s") // 90 + 3%4
		b.hover("chart-blocks", at, "27 blocks")      // 30 − 3
		if got := wait[string](b, "time read-out", `document.querySelector('#chart-blocks .u-legend .u-series:first-child .u-value').textContent`); got != at.Local().Format("2006-01-02 15:04:05") {
			t.Errorf("time read-out %q, want %s (local)", got, at.Local().Format("2006-01-02 15:04:05"))
		}
		b.screenshot("miner-1400")
		b.do("dark", colorScheme("dark"))
		b.screenshot("miner-dark-1400")
		b.do("light", colorScheme("light"))
		b.do("7d", chromedp.Click(`.ranges a[href$="range=7d"]`))
		wait[bool](b, "range in the URL", `location.search === '?range=7d'`)
		b.rendered("Miner")
		if n := wait[int](b, "points", `+document.getElementById('chart-hash-rate').dataset.points`); n != w.points+1 {
			t.Errorf("%d points over 7 days, want %d", n, w.points+1)
		}
		// The sample of 6 days ago is far more than 3× the median spacing (90 min) before the
		// next: one gap (a null point) between them, none elsewhere.
		if n := wait[int](b, "gaps", `document.getElementById('chart-hash-rate').uplot.data[1].filter(v => v === null).length + 1`); n-1 != 1 {
			t.Errorf("%d gaps over 7 days, want 1", n-1)
		}
		b.do("1h", chromedp.Click(`.ranges a[href$="range=1h"]`))
		b.rendered("Miner")
		// One point in the last hour: the time axis fits it and the caption says so.
		got := wait[string](b, "fitted caption", `document.querySelector('.ranges a[aria-current]').textContent === '1h' && document.querySelector('#chart-hash-rate .caption').textContent`)
		if !strings.HasPrefix(got, "1 point in the last ") || strings.HasSuffix(got, " 1 h") || strings.HasSuffix(got, "60 min") {
			t.Errorf("1h caption %q, want the span of the one point", got)
		}
	})

	step("Outcalls", func(t *testing.T) {
		b.do("log", chromedp.Navigate(base+"/ui/outcalls?event=solution_found"))
		b.rendered("Outcalls")
		wait[bool](b, "the outcall", `document.querySelectorAll('main tbody tr').length === 1 && document.getElementById('f-event').value === 'solution_found'`)
		b.do("detail", chromedp.Click(`main tbody a[href^="/ui/outcalls/"]`))
		b.rendered("Outcall")
		wait[bool](b, "stored reply", `document.querySelector('pre.reply').textContent.includes('"ok"') || document.querySelector('pre.reply').textContent.length > 0`)
		b.do("no match", chromedp.Navigate(base+"/ui/outcalls?event=mining_stopped"))
		b.rendered("Outcalls")
		wait[bool](b, "empty", `document.querySelector('main .empty') !== null`)
	})

	step("ModuleHashes", func(t *testing.T) {
		b.do("builds", chromedp.Click(`header nav a[href="/ui/module-hashes"]`))
		b.rendered("Builds")
		wait[bool](b, "the build and its canister", `document.querySelector('main tbody').textContent.includes('alpha-ledger') && document.querySelector('main tbody td.num').textContent === '1'`)
	})

	step("KeyboardAndDark", func(t *testing.T) {
		b.do("overview", chromedp.Navigate(base+"/"))
		b.rendered("Overview")
		// Tab reaches the brand, then the first page link; Enter follows it like a click.
		b.do("tab", chromedp.KeyEvent("\t"), chromedp.KeyEvent("\t"), chromedp.KeyEvent("\t"))
		if got := wait[string](b, "focus", `document.activeElement.getAttribute('href')`); got != "/ui/canisters" {
			t.Fatalf("third Tab focuses %q, want the Canisters link", got)
		}
		b.do("enter", chromedp.KeyEvent("\r"))
		b.rendered("Canisters")
		b.do("dark", colorScheme("dark"))
		if bg := wait[string](b, "dark background", `getComputedStyle(document.body).backgroundColor`); bg != "rgb(17, 20, 24)" {
			t.Errorf("dark background %q", bg)
		}
		b.screenshot("canisters-dark-1400")
		b.do("light", colorScheme("light"))
	})

	step("PagesFit", func(t *testing.T) {
		pages := []struct{ path, page string }{
			{"/", "Overview"}, {"/ui/canisters", "Canisters"}, {"/ui/canisters/" + string(w.token), "Canister"},
			{"/ui/canisters/" + string(w.holed), "Canister"}, {"/ui/tokens", "Tokens"}, {"/ui/tokens/" + string(w.token), "Token"},
			{"/ui/miners", "Miners"}, {"/ui/miners/" + string(w.miner), "Miner"}, {"/ui/outcalls", "Outcalls"},
			{"/ui/outcalls?event=none", "Outcalls"}, {"/ui/module-hashes", "Builds"},
			{"/docs", ""}, {"/test", ""}, // the api's docs page and the notifier's page through the proxy
		}
		for _, width := range []int64{360, 400, 1400} {
			b.do(fmt.Sprint(width, " px"), chromedp.EmulateViewport(width, 860))
			for i, p := range pages {
				b.do("open "+p.path, chromedp.Navigate(base+p.path))
				if p.page != "" {
					b.rendered(p.page)
				} else {
					wait[bool](b, "loaded "+p.path, `document.readyState === 'complete'`)
				}
				fit := wait[[]int](b, "layout", `[document.documentElement.scrollWidth, innerWidth]`)
				if fit[0] > fit[1] {
					// Name the outermost elements that reach past the right edge.
					wide := wait[string](b, "wide elements", `[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > innerWidth + 0.5 && !e.parentElement.closest('*:not(body):not(html)')?.matches?.('x')).slice(0, 4).map(e => e.tagName.toLowerCase() + (e.className ? '.' + String(e.className).split(' ')[0] : '') + ' ' + Math.round(e.getBoundingClientRect().right) + ' ' + (e.textContent || '').slice(0, 40)).join(' | ') || 'none'`)
					t.Errorf("%s at %d px is %d px wide: it scrolls sideways (%s)", p.path, width, fit[0], wide)
				}
				if width != 360 {
					b.screenshot(fmt.Sprintf("%02d-%s-%d", i, strings.Trim(strings.NewReplacer("/", "-", "?", "-", "=", "-").Replace(p.path), "-"), width))
				}
			}
		}
		b.do("dark at 400 px", chromedp.EmulateViewport(400, 860), colorScheme("dark"))
		for i, p := range []string{"/ui/miners/" + string(w.miner), "/ui/canisters/" + string(w.holed), "/test", "/docs"} {
			b.do("open "+p, chromedp.Navigate(base+p))
			wait[bool](b, "loaded "+p, `document.readyState === 'complete' && !document.querySelector('main[aria-busy]')`)
			b.screenshot(fmt.Sprintf("dark-%d-400", i))
		}
		b.do("light", colorScheme("light"))
	})

	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.console) > 0 {
		t.Errorf("console output, exceptions or failed loads:\n%s", strings.Join(b.console, "\n"))
	}
	t.Logf("screenshots in %s", b.shots)
}
