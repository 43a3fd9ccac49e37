package runtest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
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
	if os.Getenv("CI") != "" {
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
// npm fails the test in CI and skips it elsewhere.
func NodePackages(tb testing.TB, dir string) string {
	tb.Helper()
	node, npm := Tool(tb, "node", "nodejs"), Tool(tb, "npm", "npm")
	if _, err := os.Stat(filepath.Join(dir, "node_modules")); err != nil {
		install := exec.Command(npm, "ci", "--no-audit", "--no-fund", "--prefer-offline")
		install.Dir = dir
		Run(tb, install)
	}
	return node
}
