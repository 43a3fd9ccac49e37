package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"canistry/pkg/ic/ictest"
)

// postOutcall posts one outcall copy through the intake (the api's proxy to the real
// notifier binary) and fails unless it is answered 200.
func postOutcall(t *testing.T, base, body string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "POST", base+"/miner-notifications", strings.NewReader(body))
	req.Header.Set("X-API-Key", dashboardNotifyKey)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("outcall through the intake: %d", res.StatusCode)
	}
}

// sendSolution posts a solution_found outcall copies times with the same body (replica
// copies: stored once).
func sendSolution(t *testing.T, base, miner, token string, height int, difficulty string, copies int) {
	t.Helper()
	body := fmt.Sprintf(`{"event":"solution_found","miner_id":%q,"timestamp":%d,"data":{"token_id":%q,"ticker":"ALP","block_height":%d,"nonce":1,"hash":"00ab","difficulty":%q,"reward":"5000000000","decimals":8}}`,
		miner, time.Now().UnixNano(), token, height, difficulty)
	for range copies {
		postOutcall(t, base, body)
	}
}

// TestMining_Chromium drives the mining analytics in headless Chromium against the real api,
// the real notifier binary (its intake and its follower) and the poller's data: the token
// page's leaderboard with share bars, the exact hover read-out of the difficulty chart (above
// 2^64), the live update through /ws when a solution arrives, the miner page's share, the
// /test page's live leaderboard, and no sideways scrolling at 400 px. Nothing may reach the
// console.
func TestMining_Chromium(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the notifier and drives Chromium")
	}
	b := newBrowser(t)
	w := startDashboardWorld(t)
	base := w.api.URL("")
	other := ictest.CanisterID(7).Encode() // a miner nobody registered
	const big = "18446744073709551617"     // 2^64 + 1
	bigAt := time.Now()
	sendSolution(t, base, string(w.miner), string(w.token), 101, big, 13)
	sendSolution(t, base, other, string(w.token), 102, "5", 1)
	sendSolution(t, base, string(w.miner), string(w.token), 103, "1000", 2)
	sendSolution(t, base, other, string(w.token), 103, "7", 1) // repeats height 103: not counted

	b.do("token page", chromedp.Navigate(base+"/ui/tokens/"+string(w.token)+"?range=1h"))
	b.rendered("Token")
	wait[bool](b, "three solutions", `document.getElementById('mining')?.dataset.solutions === '3'`)
	rows := wait[string](b, "leaderboard", `[...document.querySelectorAll('#leaderboard tbody tr')].map(r => [...r.cells].map(c => c.textContent.trim()).filter((_, i) => i !== 4).join('|')).join('\n')`)
	want := "1|rig one|2|66.7 %|99.5 H/s\n2|" + other + "|1|33.3 %|—"
	if rows != want {
		t.Errorf("leaderboard:\n%s\nwant\n%s", rows, want)
	}
	if width := wait[string](b, "share bar", `document.querySelector('#leaderboard .share-fill').style.width`); width != "66.7%" {
		t.Errorf("share bar width %q", width)
	}
	wait[bool](b, "repeat listed", `document.querySelector('#latest-solutions').textContent.includes('repeat')`)
	b.hover("chart-difficulty", bigAt.Truncate(time.Minute), "18,446,744,073,709,551,617")
	if got := wait[string](b, "difficulty axis", `(document.getElementById('chart-difficulty').uplot.axes[1]._values || []).join(' ')`); got == "" {
		t.Error("the difficulty chart has no value axis labels")
	}

	// Live: a solution sent now reaches the open page over /ws, counted.
	sendSolution(t, base, other, string(w.token), 104, "9", 3)
	wait[bool](b, "live update", `document.getElementById('mining-solutions')?.textContent === '4' && document.querySelector('#leaderboard tbody tr:nth-child(2)').cells[2].textContent === '2'`)

	b.do("miner page", chromedp.Navigate(base+"/ui/miners/"+string(w.miner)+"?range=1h"))
	b.rendered("Miner")
	if got := wait[string](b, "miner share", `document.querySelector('#miner-shares tbody tr')?.textContent`); !strings.Contains(got, "50.0 %") {
		t.Errorf("miner share row %q, want 2 of 4: 50.0 %%", got)
	}

	b.do("/test", chromedp.Navigate(base+"/test"))
	wait[bool](b, "the /test leaderboard", `document.querySelectorAll('#board tbody tr').length === 2 && document.getElementById('board-source').textContent.startsWith('stored')`)
	sendSolution(t, base, string(w.miner), string(w.token), 105, "11", 1)
	wait[bool](b, "the /test leaderboard live", `document.querySelector('#board tbody tr').cells[2].textContent === '3'`)

	b.do("400 px", chromedp.EmulateViewport(400, 860))
	for _, p := range []string{"/ui/tokens/" + string(w.token) + "?range=1h", "/ui/miners/" + string(w.miner), "/test"} {
		b.do("open "+p, chromedp.Navigate(base+p))
		wait[bool](b, "loaded "+p, `document.readyState === 'complete' && !document.querySelector('main[aria-busy]')`)
		if fit := wait[[]int](b, "layout", `[document.documentElement.scrollWidth, innerWidth]`); fit[0] > fit[1] {
			t.Errorf("%s at 400 px is %d px wide", p, fit[0])
		}
		b.screenshot("mining-" + strings.Trim(strings.NewReplacer("/", "-", "?", "-", "=", "-").Replace(p), "-") + "-400")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.console) > 0 {
		t.Errorf("console output, exceptions or failed loads:\n%s", strings.Join(b.console, "\n"))
	}
}
