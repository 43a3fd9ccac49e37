package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"canistry/pkg/lifecycle/runtest"
	"canistry/pkg/notify"
)

// metricsText reads base's /metrics as plain text.
func metricsText(t *testing.T, base string) string {
	t.Helper()
	r := wireGet(t, "GET", base+"/metrics")
	if r.Status != http.StatusOK {
		t.Fatalf("/metrics: %d %s", r.Status, r.Body)
	}
	return string(r.Body)
}

// checkSeries fails for each wanted line (series and value) that /metrics does not have.
func checkSeries(t *testing.T, text string, want []string) {
	t.Helper()
	for _, line := range want {
		if !strings.Contains(text, "\n"+line+"\n") {
			t.Errorf("/metrics lacks %s", line)
		}
	}
}

// promtoolCheck runs `promtool check metrics` (Debian's prometheus package) over text.
func promtoolCheck(t *testing.T, text string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), runtest.Tool(t, "promtool", "Debian's prometheus package"), "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	runtest.Run(t, cmd)
}

// TestMetrics_API: the api's /metrics counts requests by route template and status (the
// proxied routes too), read-cache hits and misses, auth failures and proxy errors, and passes
// promtool's lint.
func TestMetrics_API(t *testing.T) {
	a := newTestAPI(t, apiOptions{adminKey: testAdminKey, notifierURL: downNotifierURL(t)})
	registerCanister(t, a, idLedger, "token")
	one := a.URL + "/canisters/" + string(idLedger)
	for _, step := range []struct {
		method, url, auth string
		want              int
	}{
		{"GET", one, "", http.StatusOK},  // miss
		{"GET", one, "", http.StatusOK},  // hit
		{"HEAD", one, "", http.StatusOK}, // not cached (HEAD), not counted as either
		{"GET", a.URL + "/canisters/" + string(idNone), "", http.StatusNotFound},
		{"POST", a.URL + "/system/refresh", "", http.StatusUnauthorized},
		{"POST", a.URL + "/system/refresh", "Bearer wrong", http.StatusForbidden},
		{"GET", a.URL + "/no/such/route", "", http.StatusNotFound},
		{"GET", a.URL + "/ws-status", "", http.StatusBadGateway},
	} {
		header := []string{}
		if step.auth != "" {
			header = append(header, "Authorization", step.auth)
		}
		if r := wireGet(t, step.method, step.url, header...); r.Status != step.want {
			t.Fatalf("%s %s: %d %s, want %d", step.method, step.url, r.Status, r.Body, step.want)
		}
	}
	text := metricsText(t, a.URL)
	checkSeries(t, text, []string{
		`canistry_http_requests_total{code="200",method="GET",route="/canisters/:id"} 2`,
		`canistry_http_requests_total{code="200",method="HEAD",route="/canisters/:id"} 1`,
		`canistry_http_requests_total{code="201",method="POST",route="/canisters"} 1`,
		`canistry_http_requests_total{code="404",method="GET",route="/canisters/:id"} 1`,
		`canistry_http_requests_total{code="404",method="GET",route="unmatched"} 1`,
		`canistry_http_request_duration_seconds_count{code="200",method="GET",route="/canisters/:id"} 2`,
		`canistry_http_auth_failures_total{code="401",route="/system/refresh"} 1`,
		`canistry_http_auth_failures_total{code="403",route="/system/refresh"} 1`,
		`canistry_api_read_cache_requests_total{result="hit"} 1`,
		`canistry_api_read_cache_requests_total{result="miss"} 2`,
		`canistry_api_proxy_errors_total{route="/ws-status"} 1`,
		`canistry_http_requests_total{code="502",method="GET",route="/ws-status"} 1`,
	})
	promtoolCheck(t, text)
}

// TestMetrics_Notifier: the notifier counts its gin routes and the two handlers mounted beside
// gin, the intake (its 401s as auth failures) and /ws (an upgrade is a 101).
func TestMetrics_Notifier(t *testing.T) {
	_, nd := newTestNotifier(t)
	nd.Intake = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":{"code":"unauthorized","message":"no key"}}`))
	})
	h, err := notify.NewHandler(nd)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	if r := wireGet(t, "POST", srv.URL+"/miner-notifications"); r.Status != http.StatusUnauthorized {
		t.Fatalf("intake: %d", r.Status)
	}
	if r := wireGet(t, "GET", srv.URL+"/ws-status"); r.Status != http.StatusOK {
		t.Fatalf("/ws-status: %d", r.Status)
	}
	conn, _, err := websocket.DefaultDialer.DialContext(t.Context(), "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	var text string
	runtest.WaitFor(t, "the upgrade counted", func() bool {
		text = metricsText(t, srv.URL)
		return strings.Contains(text, `canistry_http_requests_total{code="101",method="GET",route="/ws"} 1`)
	})
	checkSeries(t, text, []string{
		`canistry_http_requests_total{code="401",method="POST",route="/miner-notifications"} 1`,
		`canistry_http_auth_failures_total{code="401",route="/miner-notifications"} 1`,
		`canistry_http_requests_total{code="200",method="GET",route="/ws-status"} 1`,
	})
	if strings.Contains(text, "canistry_api_read_cache") || strings.Contains(text, "canistry_api_proxy") {
		t.Error("the notifier exports the api's own series")
	}
	promtoolCheck(t, text)
}
