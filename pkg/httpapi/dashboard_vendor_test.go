package httpapi_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// vendored maps each file the dashboard embeds from a locked npm package (make assets) to its
// path inside node_modules.
var vendored = map[string]string{
	"uPlot.iife.min.js": "uplot/dist/uPlot.iife.min.js",
	"uPlot.min.css":     "uplot/dist/uPlot.min.css",
	"LICENSE":           "uplot/LICENSE",
}

// TestVendoredAssets runs `npm ci` on a copy of web/package.json and web/package-lock.json in a
// temp dir and checks that every committed copy under dashboard/vendor is byte-identical to
// the file of the locked package, so the embedded library cannot drift from the lockfile (nor
// be edited by hand). In CI (CI set) a missing npm fails the test; elsewhere it skips.
func TestVendoredAssets(t *testing.T) {
	if testing.Short() {
		t.Skip("runs npm ci")
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("npm not found (CI installs it in .ci/run): %v", err)
		}
		t.Skip("npm not installed")
	}
	dir := t.TempDir()
	for _, name := range []string{"package.json", "package-lock.json"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "web", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.CommandContext(t.Context(), npm, "ci", "--no-audit", "--no-fund", "--prefer-offline")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci: %v\n%s", err, out)
	}
	entries, err := os.ReadDir(filepath.Join("dashboard", "vendor"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(vendored) {
		t.Errorf("dashboard/vendor holds %d files, make assets copies %d", len(entries), len(vendored))
	}
	for name, src := range vendored {
		got, err := os.ReadFile(filepath.Join("dashboard", "vendor", name))
		if err != nil {
			t.Errorf("committed copy: %v (run make assets)", err)
			continue
		}
		want, err := os.ReadFile(filepath.Join(dir, "node_modules", src))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("dashboard/vendor/%s (%d bytes) differs from node_modules/%s of the locked package (%d bytes): run make assets", name, len(got), src, len(want))
		}
	}
}
