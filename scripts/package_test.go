package scripts_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"canistry/pkg/lifecycle/runtest"
)

// TestPackage_DebVersion: git describe output becomes a valid Debian version, and the versions
// sort as the builds were made (dpkg --compare-versions).
func TestPackage_DebVersion(t *testing.T) {
	requireTool(t, "dpkg")
	cases := []struct{ describe, commits, want string }{
		{"9e1ee90", "271", "0~git271.g9e1ee90"},
		{"a202462-dirty", "272", "0~git272.ga202462+dirty"},
		{"b3c4d5e", "273", "0~git273.gb3c4d5e"},
		{"v0.9.0-rc1", "0", "0.9.0~rc1"},
		{"v0.9.0", "0", "0.9.0"},
		{"v0.9.0-3-gabc1234", "0", "0.9.0+3.gabc1234"},
		{"v0.9.0-3-gabc1234-dirty", "0", "0.9.0+3.gabc1234+dirty"},
		{"v1.0.0", "0", "1.0.0"},
	}
	prev := ""
	for _, tc := range cases {
		r := runScript(t, t.TempDir(), nil, "package.sh", "--deb-version", tc.describe, tc.commits)
		got := strings.TrimSpace(r.out)
		if r.code != 0 || got != tc.want {
			t.Errorf("--deb-version %s %s = %q (exit %d), want %q", tc.describe, tc.commits, got, r.code, tc.want)
			continue
		}
		if prev != "" {
			if out, err := exec.Command("dpkg", "--compare-versions", got, "gt", prev).CombinedOutput(); err != nil {
				t.Errorf("%s does not sort after %s: %v %s", got, prev, err, out)
			}
		}
		prev = got
	}
}

// TestPackage_Build: make package's script on the real binaries: the package's control fields,
// files and modes, the conffile, units with the package's paths, the environment file for
// /etc, and lintian clean (each remaining tag is overridden with its reason).
func TestPackage_Build(t *testing.T) {
	for _, tool := range []string{"dpkg-deb", "lintian"} {
		requireTool(t, tool)
	}
	root := repoRoot(t)
	runtest.GoToolModules(t, root) // nFPM's modules; an unreachable proxy skips outside CI
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Minute) // compressing 100 MB of binaries on busy cores
	defer cancel()
	for _, b := range []string{"api", "poller", "notifier"} { // stripped, as make build links them
		build := exec.CommandContext(ctx, "go", "build", "-ldflags", "-s -w", "-o", filepath.Join(dir, "bin", b), "./cmd/"+b)
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build cmd/%s: %v\n%s", b, err, out)
		}
	}
	pkg := exec.CommandContext(ctx, scriptPath(t, "package.sh"))
	pkg.Dir = dir
	pkg.Env = append(baseEnv(), "PACKAGE_BIN_DIR="+filepath.Join(dir, "bin"), "DIST_DIR="+filepath.Join(dir, "dist"),
		"DEB_VERSION=1.2.3+test", "VERSION=v1.2.3-test", "GOCACHE="+goEnv(t, "GOCACHE"), "GOMODCACHE="+goEnv(t, "GOMODCACHE"))
	out, err := pkg.CombinedOutput()
	deb := filepath.Join(dir, "dist", "canistry_1.2.3+test_amd64.deb")
	if err != nil || !strings.HasSuffix(strings.TrimSpace(string(out)), deb) {
		t.Fatalf("package.sh: %v, want it to print %s:\n%s", err, deb, out)
	}
	info := output(t, "dpkg-deb", "--info", deb)
	for _, want := range []string{"Package: canistry", "Version: 1.2.3+test", "Architecture: amd64", "Depends: systemd, libc6", "postinst", "prerm", "postrm", "conffiles"} {
		if !strings.Contains(info, want) {
			t.Errorf("dpkg-deb --info lacks %q:\n%s", want, info)
		}
	}
	contents := output(t, "dpkg-deb", "--contents", deb)
	for _, want := range []string{"-rwxr-xr-x root/root", "./usr/bin/canistry-api", "./usr/bin/canistry-poller", "./usr/bin/canistry-notifier",
		"./lib/systemd/system/canistry.target", "./lib/systemd/system/canistry-notifier.service", "./usr/lib/sysusers.d/canistry.conf",
		"-rw-r----- root/root", "./etc/canistry/canistry.env", "./usr/share/canistry/check_server.sh", "./usr/share/canistry/lib.sh",
		"./usr/share/doc/canistry/copyright", "./usr/share/doc/canistry/changelog.gz"} {
		if !strings.Contains(contents, want) {
			t.Errorf("dpkg-deb --contents lacks %q:\n%s", want, contents)
		}
	}
	x := filepath.Join(dir, "x")
	output(t, "dpkg-deb", "-x", deb, x)
	output(t, "dpkg-deb", "-e", deb, filepath.Join(x, "DEBIAN"))
	for file, want := range map[string]string{
		"DEBIAN/conffiles":                             "/etc/canistry/canistry.env\n",
		"etc/canistry/canistry.env":                    "\nDATA_DIR=/var/lib/canistry\n",
		"lib/systemd/system/canistry-api.service":      "\nExecStart=/usr/bin/canistry-api\n",
		"lib/systemd/system/canistry-poller.service":   "\nExecStart=/usr/bin/canistry-poller\n",
		"lib/systemd/system/canistry-notifier.service": "\nExecStart=/usr/bin/canistry-notifier\n",
		"usr/share/lintian/overrides/canistry":         "no-manual-page",
		"usr/lib/sysusers.d/canistry.conf":             "u canistry - ",
	} {
		b, err := os.ReadFile(filepath.Join(x, file))
		if err != nil || !strings.Contains(string(b), want) {
			t.Errorf("%s: %v, want it to contain %q:\n%s", file, err, want, b)
		}
	}
	lint := exec.CommandContext(ctx, "lintian", "--pedantic", "--fail-on", "error,warning,info,pedantic", deb)
	if out, err := lint.CombinedOutput(); err != nil {
		t.Errorf("lintian --pedantic: %v\n%s", err, out)
	}
}

// output runs a command and returns its stdout; it fails the test when the command fails.
func output(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return string(out)
}
