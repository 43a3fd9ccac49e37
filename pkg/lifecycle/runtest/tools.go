package runtest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Tool finds an external program a test drives (node, npm, promtool, bash, curl): in CI (CI
// set) its absence fails the test, elsewhere it skips it. install says what provides it.
func Tool(tb testing.TB, name, install string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if inCI() {
		tb.Fatalf("%s not found (CI installs %s in .ci/run): %v", name, install, err)
	}
	tb.Skipf("%s not found: install %s to run this test", name, install)
	return ""
}

// Run runs cmd and fails tb with its combined output if it fails; it returns that output.
func Run(tb testing.TB, cmd *exec.Cmd) string {
	tb.Helper()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		tb.Fatalf("%s: %v\n%s", cmd.Args, err, out.String())
	}
	return out.String()
}

// NodePackages returns node, after npm ci has installed in dir the packages its
// package-lock.json pins (only when dir has no node_modules yet). Like Tool, a missing node or
// npm fails the test in CI and skips it elsewhere; so does an npm registry that cannot be
// reached (Fetch): outside CI npm tries once with a short timeout instead of retrying for a
// minute and more.
func NodePackages(tb testing.TB, dir string) string {
	tb.Helper()
	node, npm := Tool(tb, "node", "nodejs"), Tool(tb, "npm", "npm")
	if _, err := os.Stat(filepath.Join(dir, "node_modules")); err != nil {
		args := []string{"ci", "--no-audit", "--no-fund", "--prefer-offline"}
		if !inCI() {
			args = append(args, "--fetch-retries=0", "--fetch-timeout=15000")
		}
		install := exec.Command(npm, args...)
		install.Dir = dir
		if out, err := Fetch(install); err != nil {
			_ = os.RemoveAll(filepath.Join(dir, "node_modules")) // half installed: try again next run
			unreachable(tb, "the npm registry", cmdLine(install), out, err)
		}
	}
	return node
}

// networkErrors are what npm and the go command print when a registry cannot be reached.
var networkErrors = []string{"ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "ENETUNREACH",
	"EHOSTUNREACH", "ERR_SOCKET_TIMEOUT", "network request", "request to https://", "dial tcp", "no such host",
	"i/o timeout", "connection refused", "network is unreachable", "TLS handshake timeout"}

// Fetch runs cmd, which downloads packages from a registry (npm ci, go mod download), and
// returns its combined output and error.
func Fetch(cmd *exec.Cmd) (string, error) {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// unreachable ends tb after a failed download: in CI it fails; elsewhere, when the output names
// a network error, it skips saying which registry could not be reached; any other failure (a
// lock file out of date) fails everywhere.
func unreachable(tb testing.TB, registry, cmd, out string, err error) {
	tb.Helper()
	if !inCI() {
		for _, e := range networkErrors {
			if strings.Contains(out, e) {
				tb.Skipf("skipped: %s cannot be reached (%s: %q); in CI (CI=true) this fails", registry, cmd, e)
			}
		}
	}
	tb.Fatalf("%s: %v\n%s", cmd, err, out)
}

// GoToolModules makes sure the modules of the pinned developer tools (scripts/tools/go.mod,
// from the module root root) are in the module cache; outside CI a Go proxy that cannot be
// reached skips tb, as NodePackages does for npm.
func GoToolModules(tb testing.TB, root string) {
	tb.Helper()
	cmd := exec.Command("go", "mod", "download", "-modfile=scripts/tools/go.mod")
	cmd.Dir = root
	if out, err := Fetch(cmd); err != nil {
		unreachable(tb, "the Go module proxy", cmdLine(cmd), out, err)
	}
}

func inCI() bool { return os.Getenv("CI") != "" }

func cmdLine(cmd *exec.Cmd) string { return strings.Join(cmd.Args, " ") }
