package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"canistry/pkg/lifecycle"
	"canistry/pkg/lifecycle/runtest"
)

// The notifier starts without a NATS server (it keeps retrying in the background), serves its
// probes, reports the bus down on /readyz, stops cleanly, and refuses a bad NOTIFIER_ADDR.
func TestRun(t *testing.T) { runtest.CheckRunsWithoutBus(t, run, "NOTIFIER_ADDR") }

// The command line (README "Command line"): --version, --help, check-config, -env-file, stray
// arguments.
func TestRun_CommandLine(t *testing.T) { runtest.CheckCLI(t, run, "notifier") }

// TestRun_CheckConfigRelayRoutes: check-config validates RELAY_ROUTES with the relay's own
// loader (pkg/relay), so a route the notifier would refuse at start is a problem here too.
func TestRun_CheckConfigRelayRoutes(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, routes string // routes "" means a file that does not exist
		localDev     string
		want         string // "" means configuration OK
	}{
		{"valid", `{"routes":[{"name":"echo","upstream":"https://api.example.com","methods":["GET"],"api_keys":["relay-key-0123456789"]}]}`, "false", ""},
		{"http upstream without LOCAL_DEV", `{"routes":[{"name":"echo","upstream":"http://api.example.com","methods":["GET"],"api_keys":["relay-key-0123456789"]}]}`, "false", "echo"},
		{"http upstream with LOCAL_DEV", `{"routes":[{"name":"echo","upstream":"http://127.0.0.1:1","methods":["GET"],"api_keys":["relay-key-0123456789"]}]}`, "true", ""},
		{"unknown field", `{"routes":[{"name":"echo","upstream":"https://api.example.com","methods":["GET"],"api_keys":["relay-key-0123456789"],"retries":3}]}`, "false", "retries"},
		{"not an object", `[]`, "false", `{"routes": [...]}`},
		{"missing file", "", "false", "no such file"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, fmt.Sprintf("routes-%d.json", i))
			if tc.routes != "" {
				if err := os.WriteFile(path, []byte(tc.routes), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			env := map[string]string{"DATA_DIR": dir, "RELAY_ROUTES": path, "LOCAL_DEV": tc.localDev}
			var out strings.Builder
			err := run(t.Context(), []string{"check-config"}, func(k string) string { return env[k] }, &out, lifecycle.Options{})
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("check-config: %v\n%s", err, out.String())
			case tc.want == "" && !strings.Contains(out.String(), "configuration OK"):
				t.Fatalf("no 'configuration OK':\n%s", out.String())
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), "RELAY_ROUTES="+path) || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("check-config = %v, want a RELAY_ROUTES problem naming %q", err, tc.want)
			}
		})
	}
}
