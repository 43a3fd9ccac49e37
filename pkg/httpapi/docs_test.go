package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// TestDocs_HTTP: /docs and its two files are served from the binary with a CSP that allows
// only the page's own origin, and the page loads nothing from anywhere else.
func TestDocs_HTTP(t *testing.T) {
	a := newTestAPI(t, apiOptions{})
	for _, tc := range []struct{ path, mediaType string }{
		{"/docs", "text/html"}, {"/docs/docs.js", "text/javascript"}, {"/docs/docs.css", "text/css"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			r := wireGet(t, "GET", a.URL+tc.path)
			if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), tc.mediaType) {
				t.Fatalf("%d %q", r.Status, r.Header.Get("Content-Type"))
			}
			if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "script-src 'self'") {
				t.Errorf("CSP %q", csp)
			}
			if body := string(r.Body); strings.Contains(body, "http://") || strings.Contains(body, "https://") || strings.Contains(body, "//cdn") {
				t.Errorf("%s refers to another origin", tc.path)
			}
		})
	}
}

// TestDocs_Chromium opens /docs in headless Chromium and waits until the script has rendered
// every operation of /openapi.json, with nothing logged to the console (a CSP violation or a
// script error would be).
func TestDocs_Chromium(t *testing.T) {
	browser := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			browser = p
			break
		}
	}
	if browser == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is not installed (CI installs it in .ci/run)")
		}
		t.Skip("chromium is not installed")
	}
	a := newTestAPI(t, apiOptions{})
	var doc struct {
		Paths map[string]map[string]json.RawMessage
	}
	wireGet(t, "GET", a.URL+"/openapi.json").JSON(t, &doc)
	ops := 0
	for _, item := range doc.Paths {
		for method := range item {
			if method != "parameters" {
				ops++
			}
		}
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser), chromedp.Headless,
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	defer cancelAlloc()
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	defer cancelTab()
	var mu sync.Mutex
	var console []string
	// The first call starts the browser; its context must not carry the timeout.
	if err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			console = append(console, string(ev.Type))
		case *cdplog.EventEntryAdded: // CSP violations and failed loads are reported here
			console = append(console, string(ev.Entry.Level)+": "+ev.Entry.Text)
		case *runtime.EventExceptionThrown:
			console = append(console, ev.ExceptionDetails.Text)
		}
	}); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	tctx, cancel := context.WithTimeout(ctx, 60*time.Second) // hang guard
	defer cancel()
	fail := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	fail("render /docs", chromedp.Do(tctx, chromedp.Navigate(a.URL+"/docs"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-rendered="true"]`))))
	rendered, err := chromedp.Run(tctx, chromedp.Evaluate[int](`document.querySelectorAll("section.op").length`))
	fail("count operations", err)
	title, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS(`#title`)))
	fail("title", err)
	if rendered != ops || title != "canistry registry API" {
		t.Errorf("rendered %d operations titled %q, want %d of canistry registry API", rendered, title, ops)
	}
	miner, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS(`[data-operation="minerNotification"]`)))
	fail("the outcall operation", err)
	for _, want := range []string{"POST", "/miner-notifications", "notifyKey", "Idempotency-Key", "OutcallNotification", "429"} {
		if !strings.Contains(miner, want) {
			t.Errorf("the outcall operation's text lacks %q:\n%s", want, miner)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(console) > 0 {
		t.Errorf("console output or exceptions: %v", console)
	}
}
