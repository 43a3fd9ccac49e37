// Package systemd_test checks the unit files: systemd-analyze verify, the exposure score of
// systemd-analyze security (at most 2.0), and the settings the deployment relies on.
package systemd_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var services = []string{"canistry-api.service", "canistry-poller.service", "canistry-notifier.service"}

// maxExposure is the highest acceptable "Overall exposure level" (0 = locked down, 10 = none).
const maxExposure = 2.0

// requireTool skips the test when name is not installed, except in CI (CI set), where .ci/run
// installs the tools and a missing one is a failure.
func requireTool(tb testing.TB, name string) {
	tb.Helper()
	if _, err := exec.LookPath(name); err == nil {
		return
	}
	if os.Getenv("CI") != "" {
		tb.Fatalf("%s is not installed (CI is set; .ci/run should install it)", name)
	}
	tb.Skipf("%s is not installed", name)
}

// installed copies the units to a temporary directory with ExecStart pointing to an existing
// program, as systemd-analyze verify requires, and returns their paths.
func installed(tb testing.TB) []string {
	tb.Helper()
	trueBin, err := exec.LookPath("true")
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	var paths []string
	for _, name := range append(services, "canistry.target") {
		b, err := os.ReadFile(name)
		if err != nil {
			tb.Fatal(err)
		}
		unit := regexp.MustCompile(`(?m)^ExecStart=.*$`).ReplaceAllString(string(b), "ExecStart="+trueBin)
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(unit), 0o644); err != nil {
			tb.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

func TestUnits_Verify(t *testing.T) {
	requireTool(t, "systemd-analyze")
	cmd := exec.CommandContext(t.Context(), "systemd-analyze", append([]string{"verify", "--man=no"}, installed(t)...)...)
	out, err := cmd.CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

func TestUnits_SecurityExposure(t *testing.T) {
	requireTool(t, "systemd-analyze")
	overall := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`)
	for _, p := range installed(t) {
		if !strings.HasSuffix(p, ".service") {
			continue
		}
		t.Run(filepath.Base(p), func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), "systemd-analyze", "security", "--offline=true", "--no-pager", p)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("systemd-analyze security: %v\n%s", err, out)
			}
			m := overall.FindSubmatch(out)
			if m == nil {
				t.Fatalf("no overall exposure level in:\n%s", out)
			}
			score, err := strconv.ParseFloat(string(m[1]), 64)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("exposure %.1f", score)
			if score > maxExposure {
				t.Errorf("exposure %.1f, want at most %.1f:\n%s", score, maxExposure, out)
			}
		})
	}
}

// TestUnits_Settings checks what the deployment depends on beyond what systemd-analyze scores.
func TestUnits_Settings(t *testing.T) {
	for _, name := range services {
		t.Run(name, func(t *testing.T) {
			u := parseUnit(t, name)
			for key, want := range map[string]string{
				"Restart":                 "on-failure",
				"User":                    "canistry",
				"StateDirectory":          "canistry",
				"EnvironmentFile":         "/etc/canistry/canistry.env",
				"NoNewPrivileges":         "yes",
				"ProtectSystem":           "strict",
				"ProtectHome":             "yes",
				"PrivateTmp":              "yes",
				"PrivateDevices":          "yes",
				"RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
				"CapabilityBoundingSet":   "",
				"UMask":                   "0077",
			} {
				if got := u.last(key); got != want {
					t.Errorf("%s=%q, want %q", key, got, want)
				}
			}
			if !strings.Contains(u.all("SystemCallFilter"), "@system-service") {
				t.Errorf("SystemCallFilter=%q, want @system-service", u.all("SystemCallFilter"))
			}
			if got, want := u.last("ExecStart"), "/usr/local/bin/"+strings.TrimSuffix(name, ".service"); got != want {
				t.Errorf("ExecStart=%q, want %q (deploy.sh installs there)", got, want)
			}
			// The binaries shut down within SHUTDOWN_TIMEOUT (10s by default); SIGKILL must come later.
			stop, err := time.ParseDuration(u.last("TimeoutStopSec"))
			if err != nil || stop <= 10*time.Second {
				t.Errorf("TimeoutStopSec=%q, want a duration above 10s", u.last("TimeoutStopSec"))
			}
			if name == "canistry-api.service" {
				return
			}
			if !strings.Contains(u.all("After"), "canistry-api.service") {
				t.Error("not ordered after canistry-api.service")
			}
			for _, key := range []string{"Requires", "BindsTo", "PartOf"} {
				if strings.Contains(u.all(key), "canistry-api") {
					t.Errorf("%s=canistry-api.service: an api restart would stop this unit; it reconnects on its own", key)
				}
			}
		})
	}
	t.Run("canistry.target", func(t *testing.T) {
		u := parseUnit(t, "canistry.target")
		for _, s := range services {
			if !strings.Contains(u.all("Wants"), s) {
				t.Errorf("Wants lacks %s", s)
			}
		}
	})
}

// unit is a parsed unit file: every assignment of each key, in order, across sections.
type unit map[string][]string

func parseUnit(tb testing.TB, path string) unit {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	u := unit{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "[") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			tb.Fatalf("%s: not an assignment: %q", path, line)
		}
		u[k] = append(u[k], v)
	}
	return u
}

// last is the value in effect for a single-valued key ("" when unset or reset).
func (u unit) last(key string) string {
	vs := u[key]
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}

// all joins every assignment of a list-valued key.
func (u unit) all(key string) string { return strings.Join(u[key], " ") }
