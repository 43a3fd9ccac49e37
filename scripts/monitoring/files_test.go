// Package monitoring_test tests what scripts/monitoring ships for Prometheus and Grafana: the
// rules (promtool check rules, promtool test rules, every alert tested firing and not), the
// dashboard (importable), and every PromQL expression of both against a real Prometheus that
// scraped the three real binaries (e2e_test.go).
package monitoring_test

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"canistry/pkg/lifecycle/runtest"
)

const (
	rulesFile     = "canistry.rules.yml"
	rulesTestFile = "canistry.rules.test.yml"
	dashboardFile = "grafana-dashboard.json"
)

// ruleFile is canistry.rules.yml as far as the tests read it.
type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []rule `yaml:"rules"`
	} `yaml:"groups"`
}

type rule struct {
	Record string            `yaml:"record"`
	Alert  string            `yaml:"alert"`
	Expr   string            `yaml:"expr"`
	Labels map[string]string `yaml:"labels"`
}

func readRules(tb testing.TB) []rule {
	tb.Helper()
	var f ruleFile
	readYAML(tb, rulesFile, &f)
	var out []rule
	for _, g := range f.Groups {
		out = append(out, g.Rules...)
	}
	if len(out) == 0 {
		tb.Fatalf("%s has no rules", rulesFile)
	}
	return out
}

func readYAML(tb testing.TB, path string, v any) {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
}

// TestRules_Promtool: the rules load (promtool check rules) and their unit tests pass
// (promtool test rules): every alert on synthetic series, firing and not firing.
func TestRules_Promtool(t *testing.T) {
	t.Log(runtest.PromtoolRules(t, rulesFile))
	t.Log(runtest.PromtoolTestRules(t, rulesTestFile))
}

// TestRules_EveryAlertTested: each alert of canistry.rules.yml has a case in
// canistry.rules.test.yml where it fires and one where it does not, and a severity.
func TestRules_EveryAlertTested(t *testing.T) {
	var tests struct {
		RuleFiles []string `yaml:"rule_files"`
		Tests     []struct {
			AlertRuleTest []struct {
				AlertName string `yaml:"alertname"`
				ExpAlerts []any  `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	readYAML(t, rulesTestFile, &tests)
	if !slices.Equal(tests.RuleFiles, []string{rulesFile}) {
		t.Errorf("%s tests %v, want [%s]", rulesTestFile, tests.RuleFiles, rulesFile)
	}
	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.AlertName] = true
			} else {
				quiet[a.AlertName] = true
			}
		}
	}
	alerts := 0
	for _, r := range readRules(t) {
		if r.Alert == "" {
			continue
		}
		alerts++
		if !fires[r.Alert] || !quiet[r.Alert] {
			t.Errorf("alert %s: tested firing %v, not firing %v; want both in %s", r.Alert, fires[r.Alert], quiet[r.Alert], rulesTestFile)
		}
		if s := r.Labels["severity"]; s != "critical" && s != "warning" {
			t.Errorf("alert %s: severity %q, want critical or warning", r.Alert, s)
		}
	}
	if alerts == 0 {
		t.Fatal("no alerts found")
	}
}

// dashboard is grafana-dashboard.json as far as the tests read it.
type dashboard struct {
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Query      json.RawMessage `json:"query"`
			Datasource *datasource     `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int         `json:"id"`
	Type       string      `json:"type"`
	Title      string      `json:"title"`
	Datasource *datasource `json:"datasource"`
	GridPos    struct{ H, W, X, Y int }
	Targets    []struct {
		RefID      string      `json:"refId"`
		Expr       string      `json:"expr"`
		Datasource *datasource `json:"datasource"`
	} `json:"targets"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// dsVariable is the datasource template variable every query uses: picked in the dashboard's
// drop-down after an import, or by provisioning, never a datasource uid of one installation.
const dsVariable = "DS_PROMETHEUS"

func readDashboard(tb testing.TB) dashboard {
	tb.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		tb.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		tb.Fatalf("%s: %v", dashboardFile, err)
	}
	return d
}

// TestDashboard_Importable checks what a Grafana import needs: a schema version, a uid and a
// title, the datasource as the ${DS_PROMETHEUS} variable everywhere (panels, targets and the
// instance variable), unique panel ids, every panel placed on the 24-column grid, and every
// target with a refId and a PromQL expression.
func TestDashboard_Importable(t *testing.T) {
	d := readDashboard(t)
	if d.SchemaVersion < 36 || d.UID == "" || d.Title == "" {
		t.Errorf("schemaVersion %d, uid %q, title %q: want ≥ 36 and both set", d.SchemaVersion, d.UID, d.Title)
	}
	want := datasource{Type: "prometheus", UID: "${" + dsVariable + "}"}
	hasDS := false
	for _, v := range d.Templating.List {
		switch {
		case v.Name == dsVariable:
			hasDS = v.Type == "datasource" && string(v.Query) == `"prometheus"`
		case v.Datasource == nil || *v.Datasource != want:
			t.Errorf("variable %s: datasource %+v, want %+v", v.Name, v.Datasource, want)
		}
	}
	if !hasDS {
		t.Errorf("no datasource variable %s of type prometheus", dsVariable)
	}
	ids := map[int]bool{}
	queries := 0
	for _, p := range d.Panels {
		if ids[p.ID] || p.ID == 0 {
			t.Errorf("panel %q: id %d missing or not unique", p.Title, p.ID)
		}
		ids[p.ID] = true
		if p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %q: gridPos %+v off the 24-column grid", p.Title, p.GridPos)
		}
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || *p.Datasource != want || len(p.Targets) == 0 || p.Title == "" {
			t.Errorf("panel %q: datasource %+v, %d targets; want %+v and at least one", p.Title, p.Datasource, len(p.Targets), want)
		}
		for _, tg := range p.Targets {
			queries++
			if tg.RefID == "" || strings.TrimSpace(tg.Expr) == "" || tg.Datasource == nil || *tg.Datasource != want {
				t.Errorf("panel %q target %q: expr %q, datasource %+v", p.Title, tg.RefID, tg.Expr, tg.Datasource)
			}
		}
	}
	if queries == 0 {
		t.Fatal("no queries in the dashboard")
	}
}

// grafanaVars are the dashboard's variables and Grafana's built-ins, as the test evaluates
// them: every instance, and a rate interval that holds several of the test's 1 s scrapes.
var grafanaVars = strings.NewReplacer("$__rate_interval", "30s", "${__rate_interval}", "30s",
	"$__interval", "5s", "$__range", "5m", "$instance", ".*", "${instance}", ".*")

// leftoverVar finds a variable the replacer does not know.
var leftoverVar = regexp.MustCompile(`\$\{?\w+`)

// dashboardExprs returns every target's expression with the variables substituted, keyed
// "panel / refId".
func dashboardExprs(tb testing.TB) map[string]string {
	tb.Helper()
	out := map[string]string{}
	for _, p := range readDashboard(tb).Panels {
		for _, tg := range p.Targets {
			expr := grafanaVars.Replace(tg.Expr)
			if v := leftoverVar.FindString(expr); v != "" {
				tb.Errorf("panel %q target %s: unknown variable %s in %s", p.Title, tg.RefID, v, tg.Expr)
			}
			out[p.Title+" / "+tg.RefID] = expr
		}
	}
	return out
}
