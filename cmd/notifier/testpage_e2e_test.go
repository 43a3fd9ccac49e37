package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"canistry/pkg/lifecycle/runtest"
)

// findChromium returns the browser to drive, or "" when none is installed.
func findChromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// TestTestPage_Chromium opens /test in headless Chromium on a notifier that already has
// history: the page shows the stored events at once. It clicks "solution_found" (13 replica
// copies through the real intake) and waits until the event is on screen, then disconnects,
// lets two events happen, reconnects, and checks the tallies count each event exactly once.
func TestTestPage_Chromium(t *testing.T) {
	browser := findChromium()
	if browser == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is not installed (CI installs it in .ci/run)")
		}
		t.Skip("chromium is not installed")
	}
	env := notifierEnv(t.TempDir(), startNATS(t))
	env["LOCAL_DEV"] = "true"
	p := runtest.Start(t, run, env)
	runtest.WaitHTTP(t, p.URL("/readyz"), http.StatusOK)
	ts := uint64(time.Now().UnixNano())
	for i := range 3 { // history from before the page was opened
		sentinel(t, p.Addr, ts+uint64(i))
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	defer cancelAlloc()
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	defer cancelTab()
	// The first action starts the browser; its context must not carry the timeout.
	if err := chromedp.Do(ctx, chromedp.Navigate(p.URL("/test"))); err != nil {
		t.Fatalf("open /test: %v", err)
	}
	tctx, cancel := context.WithTimeout(ctx, 90*time.Second) // hang guard
	defer cancel()
	fail := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v\nnotifier log:\n%s", what, err, p.Log())
		}
	}
	fail("page shows the history", chromedp.Do(tctx,
		chromedp.WaitVisible(chromedp.CSS(`body[data-ws="open"]`)),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll('#feed li[data-event="sentinel"]').length === 3`),
	))
	fail("page simulates", chromedp.Do(tctx,
		chromedp.Click(chromedp.CSS(`button[data-sim="solution_found"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#feed li.solution[data-event="solution_found"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#bursts .banner`)),
	))
	shot, err := chromedp.Run(tctx, chromedp.FullScreenshot(100))
	fail("screenshot", err)
	solutions, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS(`#count-solutions`)))
	fail("solutions counter", err)
	miners, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS(`#count-miners`)))
	fail("miners counter", err)
	_, err = chromedp.Run(tctx, chromedp.Poll[chromedp.Void](`document.getElementById('sim-result').textContent.includes('byte-identical')`))
	fail("simulation result", err)
	result, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS(`#sim-result`)))
	fail("simulation result", err)
	path := filepath.Join(t.TempDir(), "test-page.png")
	if err := os.WriteFile(path, shot, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes); simulation: %s", path, len(shot), result)
	if solutions != "1" || miners != "2" { // the history's miner and the simulated one
		t.Errorf("counters: %s solutions, %s miners; want 1 and 2", solutions, miners)
	}
	// Across a reconnect the page resumes from its cursor: each event is counted once.
	fail("disconnect", chromedp.Do(tctx,
		chromedp.Click(chromedp.CSS(`#connect`)),
		chromedp.WaitVisible(chromedp.CSS(`body[data-ws="closed"]`)),
	))
	for i := range 2 {
		sentinel(t, p.Addr, ts+uint64(10+i))
	}
	fail("reconnect", chromedp.Do(tctx,
		chromedp.Click(chromedp.CSS(`#connect`)),
		chromedp.WaitVisible(chromedp.CSS(`body[data-ws="open"]`)),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll('#feed li[data-event="sentinel"]').length === 5`),
	))
	events, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS(`#count-events`)))
	fail("events counter", err)
	cards, err := chromedp.Run(tctx, chromedp.Evaluate[int](`document.querySelectorAll('#feed li').length`))
	fail("cards", err)
	if events != "6" || cards != 6 {
		t.Errorf("after the reconnect: %s events counted, %d cards; want 6 and 6 (3 history, 1 simulated, 2 missed while away)", events, cards)
	}
	// The page's feed is the WebSocket client module served beside /ws (dogfooding it).
	module, err := chromedp.Run(tctx, chromedp.Evaluate[int](`performance.getEntriesByType('resource').filter(r => r.name === location.origin + '/ws/client.js').length`))
	fail("module", err)
	if module != 1 {
		t.Errorf("/ws/client.js loaded %d times, want once", module)
	}
	if !strings.Contains(result, "13 replica copies → HTTP 200") {
		t.Errorf("simulation result %q", result)
	}
}

// TestTestPage_HTTP checks the page's routes without a browser: the page and its assets, the
// simulation (LOCAL_DEV only) and /ws-status.
func TestTestPage_HTTP(t *testing.T) {
	natsURL := startNATS(t)
	for _, local := range []bool{false, true} {
		env := notifierEnv(t.TempDir(), natsURL)
		if local {
			env["LOCAL_DEV"] = "true"
		}
		p := runtest.Start(t, run, env)
		page := get(t, p.URL("/test"), http.StatusOK)
		if want := `data-local-dev="` + map[bool]string{true: "true", false: "false"}[local] + `"`; !strings.Contains(page, want) {
			t.Errorf("LOCAL_DEV=%v: page lacks %s", local, want)
		}
		get(t, p.URL("/test/app.js"), http.StatusOK)
		get(t, p.URL("/test/app.css"), http.StatusOK)
		var status struct{ Clients, MessagesSent int64 }
		if err := json.Unmarshal([]byte(get(t, p.URL("/ws-status"), http.StatusOK)), &status); err != nil {
			t.Errorf("/ws-status: %v", err)
		}
		resp, err := http.Post(p.URL("/test/simulate?event=mining_started"), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case !local && resp.StatusCode != http.StatusNotFound:
			t.Errorf("simulate without LOCAL_DEV: %d, want 404", resp.StatusCode)
		case local && (resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"identical":true`)):
			t.Errorf("simulate: %d %s", resp.StatusCode, b)
		}
		if err := p.Stop(t); err != nil {
			t.Fatal(err)
		}
	}
}

func get(t *testing.T, url string, want int) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("GET %s = %d, want %d: %s", url, resp.StatusCode, want, b)
	}
	return string(b)
}
