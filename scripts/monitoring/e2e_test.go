package monitoring_test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"canistry/pkg/lifecycle/runtest"
)

// prometheusConfig scrapes the stack every second under the job names the rules and README
// use, the api over HTTPS trusting the test's certificate, and loads rules.
func (s *stack) prometheusConfig(rules string) string {
	return fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: canistry-api
    scheme: https
    tls_config: {ca_file: %q}
    static_configs: [{targets: [%q]}]
  - job_name: canistry-notifier
    static_configs: [{targets: [%q]}]
  - job_name: canistry-poller
    static_configs: [{targets: [%q]}]
`, rules, s.certPath, s.api, s.notifier, s.poller)
}

// afterTraffic are conditions that hold once Prometheus has scraped what stack.traffic,
// the webhooks, the refreshes and the early proxy failure did.
var afterTraffic = []string{
	`canistry_notify_copies_total{result="claimed"} > 0`,
	`canistry_notify_copies_total{result="replayed_memory"} > 0`,
	`canistry_notify_diverged_copies_total > 0`,
	`canistry_notify_rate_limited_total > 0`,
	`canistry_notify_rejected_total{code="unauthorized"} > 0`,
	`canistry_poller_canisters_refreshed_total{kind="token"} > 0`,
	`canistry_poller_canisters_failed_total{kind="miner"} > 0`,
	`canistry_webhook_deliveries_total > 0`,
	`canistry_webhook_marked_failing_total > 0`,
	`canistry_ws_clients > 0`,
	`canistry_event_log_position > 0`,
	`canistry_api_proxy_errors_total{route="/miner-notifications"} > 0`,
	`canistry_http_requests_total{job="canistry-api", route="/canisters", code="200"} > 0`,
}

// firingAlerts fire in the real Prometheus on that traffic: the test's certificate expires in
// an hour, a copy diverged, notifications were rate-limited, an endpoint was marked failing.
var firingAlerts = []string{"CanistryCertificateExpiring", "CanistryCertificateExpiringSoon",
	"CanistryOutcallRepliesDiverging", "CanistryIntakeRateLimited", "CanistryWebhookEndpointFailing"}

// TestMonitoring_RealBinaries builds and starts the three binaries, a real Prometheus scraping
// them with canistry.rules.yml loaded, makes traffic, and evaluates every expression of the
// rules and the dashboard through Prometheus' HTTP API: each recording rule, each dashboard
// query and each operand of each alert must return data, so a metric renamed in code (or a
// typo here) fails. Every series name they use must be scraped, and the alerts the traffic
// causes must fire.
func TestMonitoring_RealBinaries(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binaries and Prometheus")
	}
	runtest.Tool(t, "prometheus", "Debian's prometheus package")
	rules, err := filepath.Abs(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	s := newStack(t)
	s.start(t, "api")
	// Before the notifier runs, the routes the api proxies to it answer 502: a proxy error, and
	// a 5xx on the intake route (what CanistryIntake5xx counts).
	if code := s.status("https://" + s.api + "/ws-status"); code != http.StatusBadGateway {
		t.Fatalf("GET /ws-status through the api without a notifier = %d, want 502", code)
	}
	if code := postOutcall(t, s.client, "https://"+s.api, notifyKey, "", solution(1, 1)); code != http.StatusBadGateway {
		t.Fatalf("POST /miner-notifications through the api without a notifier = %d, want 502", code)
	}
	s.start(t, "notifier")
	s.start(t, "poller")
	prom := runtest.StartPrometheus(t, s.prometheusConfig(rules))
	prom.WaitQuery(t, `count(up{job=~"canistry-(api|notifier|poller)"} == 1) == 3`)

	s.follow(t)
	delivered := s.webhooks(t)
	s.registerCanisters(t)
	s.traffic(t)
	runtest.WaitFor(t, "a webhook delivery", func() bool { return delivered() > 0 })
	for _, q := range afterTraffic {
		prom.WaitQuery(t, q)
	}

	checkCertificate(t, prom, s.certPath)
	for _, name := range firingAlerts {
		prom.WaitQuery(t, fmt.Sprintf(`ALERTS{alertname=%q, alertstate="firing"}`, name))
	}
	t.Run("SeriesNames", func(t *testing.T) { checkSeriesNames(t, prom) })
	t.Run("Rules", func(t *testing.T) { checkRules(t, prom) })
	t.Run("Dashboard", func(t *testing.T) {
		for where, expr := range dashboardExprs(t) {
			requireData(t, prom, where, expr)
		}
	})
	for _, name := range []string{"poller", "notifier", "api"} { // the api, hosting NATS, last
		b := s.binaries[name]
		b.Stop(t)
		if strings.Contains(b.Log(), `"level":"ERROR"`) {
			t.Errorf("%s logged an error:\n%s", name, b.Log())
		}
	}
}

// checkCertificate: the scraped expiry is the api's certificate's notAfter.
func checkCertificate(t *testing.T, prom *runtest.Prometheus, certPath string) {
	t.Helper()
	got := prom.WaitQuery(t, `canistry_tls_certificate_not_after_timestamp_seconds{job="canistry-api"}`)
	if want := runtest.CertNotAfter(t, certPath); len(got) != 1 || got[0].Float() != float64(want.Unix()) {
		t.Errorf("certificate expiry scraped %v, want one series of %d (%s)", got, want.Unix(), want)
	}
}

// checkRules evaluates every rule: a recording rule's expression and the series it records
// must return data; an alert's expression must evaluate, and each of its operands return data.
func checkRules(t *testing.T, prom *runtest.Prometheus) {
	for _, r := range readRules(t) {
		if r.Record != "" {
			requireData(t, prom, "record "+r.Record, r.Expr)
			requireData(t, prom, "recorded "+r.Record, r.Record)
			continue
		}
		if _, err := prom.Query(r.Expr); err != nil {
			t.Errorf("alert %s: %v", r.Alert, err)
		}
		for _, op := range operands(r.Expr) {
			requireData(t, prom, "alert "+r.Alert+" operand", op)
		}
	}
}

// seriesName finds the series names an expression reads (canistry's, the scrape's up and the
// process collector's); recorded names (with a colon) are checked as recording rules.
var seriesName = regexp.MustCompile(`\b(canistry_[a-z0-9_]+|up|process_[a-z_]+)\b`)

// checkSeriesNames: every series name used by the rules or the dashboard was scraped.
func checkSeriesNames(t *testing.T, prom *runtest.Prometheus) {
	var exprs []string
	for _, r := range readRules(t) {
		exprs = append(exprs, r.Expr)
	}
	for _, e := range dashboardExprs(t) {
		exprs = append(exprs, e)
	}
	var names []string
	for _, e := range exprs {
		names = append(names, seriesName.FindAllString(e, -1)...)
	}
	slices.Sort(names)
	for _, name := range slices.Compact(names) {
		got, err := prom.Query(fmt.Sprintf(`count({__name__=%q})`, name))
		if err != nil || len(got) == 0 {
			t.Errorf("%s is not scraped from any binary (%v): renamed or removed in code?", name, err)
		}
	}
}

// requireData waits until expr returns at least one sample (recording rules evaluate every
// second; a rate needs two scrapes) and fails t, naming where the expression comes from, if it
// never does.
func requireData(t *testing.T, prom *runtest.Prometheus, where, expr string) {
	t.Helper()
	deadline := time.Now().Add(runtest.Patience)
	for {
		got, err := prom.Query(expr)
		switch {
		case err != nil:
			t.Errorf("%s: %v", where, err)
			return
		case len(got) > 0:
			return
		case time.Now().After(deadline):
			t.Errorf("%s: no data for %s within %s", where, expr, runtest.Patience)
			return
		}
		<-time.After(250 * time.Millisecond) // about a quarter of the scrape and rule interval
	}
}
