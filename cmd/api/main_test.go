package main

import (
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"canistry/pkg/lifecycle"
	"canistry/pkg/lifecycle/runtest"
)

func baseEnv(t *testing.T) map[string]string {
	return map[string]string{
		"DATA_DIR":           t.TempDir(),
		"API_ADDR":           "[::]:0",
		"NATS_URL":           "nats://127.0.0.1:0",
		"HEARTBEAT_INTERVAL": "100ms",
		"LOG_LEVEL":          "debug",
	}
}

func hasIPv6Loopback() bool {
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	var buf strings.Builder
	_, _ = bufCopy(&buf, resp)
	return resp.StatusCode, []byte(buf.String())
}

func bufCopy(b *strings.Builder, resp *http.Response) (int64, error) {
	var n int64
	p := make([]byte, 4096)
	for {
		k, err := resp.Body.Read(p)
		b.Write(p[:k])
		n += int64(k)
		if err != nil {
			return n, nil
		}
	}
}

func TestRun(t *testing.T) {
	env := baseEnv(t)
	const adminKey = "run-test-admin-key-0123456789abcdef"
	env["ADMIN_API_KEY"] = adminKey
	p := runtest.Start(t, run, env)

	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/system/status"} {
		if code, body := get(t, p.URL(path)); code != http.StatusOK {
			t.Errorf("GET %s = %d %s", path, code, body)
		}
	}
	// The api's own heartbeat shows up in the status.
	runtest.WaitHTTP(t, p.URL("/healthz"), 200)
	var st struct {
		Database struct {
			Path          string `json:"path"`
			SchemaVersion int    `json:"schema_version"`
		} `json:"database"`
		NATS struct {
			Embedded  bool `json:"embedded"`
			Connected bool `json:"connected"`
		} `json:"nats"`
		Processes []struct {
			Name  string `json:"name"`
			Alive bool   `json:"alive"`
		} `json:"processes"`
	}
	// The public status shows health only; the admin key unlocks the detail.
	_, body := get(t, p.URL("/system/status"))
	if strings.Contains(string(body), env["DATA_DIR"]) {
		t.Errorf("public status names the data directory: %s", body)
	}
	adminStatus(t, p.URL("/system/status"), adminKey, &st)
	if st.Database.Path != filepath.Join(env["DATA_DIR"], "registry.db") || st.Database.SchemaVersion < 1 {
		t.Errorf("database = %+v", st.Database)
	}
	if !st.NATS.Embedded || !st.NATS.Connected {
		t.Errorf("nats = %+v", st.NATS)
	}
	if len(st.Processes) != 3 || st.Processes[0].Name != "api" || !st.Processes[0].Alive {
		t.Errorf("processes = %+v", st.Processes)
	}

	if err := p.Stop(t); err != nil {
		t.Fatalf("run returned %v", err)
	}
	if errs := p.Errors(); len(errs) > 0 {
		t.Errorf("errors logged during a clean run: %v", errs)
	}
	if _, err := http.Get(p.URL("/healthz")); err == nil {
		t.Error("still serving after shutdown")
	}
}

// adminStatus reads /system/status with the admin key into st.
func adminStatus(t *testing.T, url, adminKey string, st any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(st); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("status with the admin key: %d %v", resp.StatusCode, err)
	}
}

// One [::] listener answers on IPv4 and IPv6 loopback (dual-stack).
func TestRun_DualStack(t *testing.T) {
	if !hasIPv6Loopback() {
		t.Skip("no IPv6 loopback on this host")
	}
	p := runtest.Start(t, run, baseEnv(t))
	for _, host := range []string{"127.0.0.1", "[::1]"} {
		url := "http://" + host + ":" + p.Port() + "/healthz"
		if code, _ := get(t, url); code != http.StatusOK {
			t.Errorf("GET %s = %d", url, code)
		}
	}
	if err := p.Stop(t); err != nil {
		t.Fatal(err)
	}
}

// IPV6_ONLY=true makes the [::] socket refuse IPv4.
func TestRun_IPv6Only(t *testing.T) {
	if !hasIPv6Loopback() {
		t.Skip("no IPv6 loopback on this host")
	}
	env := baseEnv(t)
	env["IPV6_ONLY"] = "true"
	p := runtest.Start(t, run, env)
	if code, _ := get(t, "http://[::1]:"+p.Port()+"/healthz"); code != http.StatusOK {
		t.Errorf("IPv6 GET = %d", code)
	}
	if resp, err := http.Get("http://127.0.0.1:" + p.Port() + "/healthz"); err == nil {
		resp.Body.Close()
		t.Error("IPv4 answered on an IPv6-only socket")
	}
	if err := p.Stop(t); err != nil {
		t.Fatal(err)
	}
}

func TestRun_ErrBadConfig(t *testing.T) {
	env := baseEnv(t)
	env["API_ADDR"] = "localhost"
	err := run(t.Context(), []string{"-env-file", ""}, func(k string) string { return env[k] }, &strings.Builder{}, lifecycle.Options{})
	if err == nil || !strings.Contains(err.Error(), "API_ADDR") {
		t.Fatalf("run = %v, want an error naming API_ADDR", err)
	}
}

func TestRun_ErrPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	env := baseEnv(t)
	env["API_ADDR"] = ln.Addr().String()
	if err := run(t.Context(), []string{"-env-file", ""}, func(k string) string { return env[k] }, &strings.Builder{}, lifecycle.Options{}); err == nil {
		t.Fatal("want a bind error")
	}
}

// The command line (README "Command line"): --version, --help, check-config, -env-file, stray
// arguments.
func TestRun_CommandLine(t *testing.T) { runtest.CheckCLI(t, run, "api") }
