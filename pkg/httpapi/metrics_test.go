package httpapi_test

import (
	"net/http"
	"testing"

	"canistry/pkg/lifecycle/runtest"
)

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
	text := runtest.MetricsText(t, a.URL)
	runtest.CheckSeries(t, text, []string{
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
	runtest.PromtoolCheck(t, text)
}
