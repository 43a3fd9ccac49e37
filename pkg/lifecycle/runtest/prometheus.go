package runtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// PromtoolRules runs `promtool check rules` over files (Debian's prometheus package).
func PromtoolRules(tb testing.TB, files ...string) string {
	tb.Helper()
	args := append([]string{"check", "rules"}, files...)
	return Run(tb, exec.CommandContext(tb.Context(), Tool(tb, "promtool", "Debian's prometheus package"), args...))
}

// PromtoolTestRules runs `promtool test rules` over the unit-test files (their rule_files are
// relative to each file's directory).
func PromtoolTestRules(tb testing.TB, files ...string) string {
	tb.Helper()
	args := append([]string{"test", "rules"}, files...)
	return Run(tb, exec.CommandContext(tb.Context(), Tool(tb, "promtool", "Debian's prometheus package"), args...))
}

// Prometheus is a real Prometheus server (Debian's prometheus package, /usr/bin/prometheus) that
// a test started on a free loopback port with its own configuration and a temporary database.
type Prometheus struct {
	URL string // http://127.0.0.1:<port>
	log *syncBuffer
}

// StartPrometheus writes config (prometheus.yml, YAML text; rule_files as absolute paths) and
// starts Prometheus on it; it waits until the server is ready and stops it at cleanup.
func StartPrometheus(tb testing.TB, config string) *Prometheus {
	tb.Helper()
	bin := Tool(tb, "prometheus", "Debian's prometheus package")
	dir := tb.TempDir()
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o600); err != nil {
		tb.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(FreePort(tb, false))
	p := &Prometheus{URL: "http://" + addr, log: &syncBuffer{}}
	cmd := exec.Command(bin, "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = p.log, p.log
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if tb.Failed() {
			tb.Logf("prometheus log:\n%s", p.log.String())
		}
	})
	WaitFor(tb, "prometheus to be ready", func() bool {
		select {
		case <-exited:
			tb.Fatalf("prometheus exited:\n%s", p.log.String())
		default:
		}
		resp, err := http.Get(p.URL + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return p
}

// Sample is one series of an instant query's result.
type Sample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"` // [unix time, "value"]
}

// Float is the sample's value.
func (s Sample) Float() float64 {
	v, _ := s.Value[1].(string)
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0
	}
	return f
}

// Query evaluates expr now through the HTTP API (/api/v1/query) and returns the vector's
// samples (a scalar result is one sample without labels), or the error Prometheus gave.
func (p *Prometheus) Query(expr string) ([]Sample, error) {
	resp, err := http.PostForm(p.URL+"/api/v1/query", url.Values{"query": {expr}})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("query %q: %d %s", expr, resp.StatusCode, body)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("query %q: %s", expr, r.Error)
	}
	switch r.Data.ResultType {
	case "vector":
		var out []Sample
		err := json.Unmarshal(r.Data.Result, &out)
		return out, err
	case "scalar":
		var v [2]any
		err := json.Unmarshal(r.Data.Result, &v)
		return []Sample{{Value: v}}, err
	}
	return nil, fmt.Errorf("query %q: result type %s, want a vector or a scalar", expr, r.Data.ResultType)
}

// WaitQuery waits until expr returns at least one sample (Patience at most).
func (p *Prometheus) WaitQuery(tb testing.TB, expr string) []Sample {
	tb.Helper()
	var got []Sample
	var last error
	deadline := time.Now().Add(2 * Patience)
	for time.Now().Before(deadline) {
		got, last = p.Query(expr)
		if last == nil && len(got) > 0 {
			return got
		}
		<-time.After(200 * time.Millisecond) // scrape interval order of magnitude
	}
	tb.Fatalf("no data for %s within %s (last error: %v)", expr, 2*Patience, last)
	return nil
}
