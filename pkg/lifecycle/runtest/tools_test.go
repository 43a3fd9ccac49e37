package runtest_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"canistry/pkg/lifecycle/runtest"
)

// recorder is a testing.TB whose Skipf and Fatalf record the message and stop the call, as the
// real ones stop the test.
type recorder struct {
	testing.TB
	skipped, failed string
}

type stopped struct{}

func (r *recorder) Helper()                   {}
func (r *recorder) Skipf(f string, a ...any)  { r.skipped = fmt.Sprintf(f, a...); panic(stopped{}) }
func (r *recorder) Fatalf(f string, a ...any) { r.failed = fmt.Sprintf(f, a...); panic(stopped{}) }

func (r *recorder) call(fn func(testing.TB)) {
	defer func() {
		if p := recover(); p != nil {
			if _, ok := p.(stopped); !ok {
				panic(p)
			}
		}
	}()
	fn(r)
}

// TestNodePackages_RegistryUnreachable: npm ci against a registry that refuses connections
// (and an empty cache) skips the test outside CI, naming the registry, and fails it in CI.
func TestNodePackages_RegistryUnreachable(t *testing.T) {
	runtest.Tool(t, "npm", "npm")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	registry := "http://" + ln.Addr().String() + "/"
	ln.Close()
	for _, tc := range []struct{ ci, wantSkip, wantFail string }{
		{ci: "", wantSkip: "the npm registry cannot be reached"},
		{ci: "true", wantFail: "npm ci"},
	} {
		t.Run("CI="+tc.ci, func(t *testing.T) {
			dir := t.TempDir()
			writeLockedPackage(t, dir)
			t.Setenv("CI", tc.ci)
			t.Setenv("npm_config_registry", registry)
			t.Setenv("npm_config_cache", t.TempDir())
			t.Setenv("npm_config_fetch_retries", "0") // CI's npm would retry the refused port for a while
			r := &recorder{TB: t}
			r.call(func(tb testing.TB) { runtest.NodePackages(tb, dir) })
			if !strings.Contains(r.skipped, tc.wantSkip) || !strings.Contains(r.failed, tc.wantFail) ||
				(tc.wantSkip == "") != (r.skipped == "") || (tc.wantFail == "") != (r.failed == "") {
				t.Fatalf("skipped %q, failed %q; want skip %q, fail %q", r.skipped, r.failed, tc.wantSkip, tc.wantFail)
			}
			if _, err := os.Stat(filepath.Join(dir, "node_modules")); err == nil {
				t.Error("a half-installed node_modules was left behind")
			}
		})
	}
}

// writeLockedPackage writes a package.json and package-lock.json that pin one small package.
func writeLockedPackage(t *testing.T, dir string) {
	t.Helper()
	pkg := `{"name":"t","version":"1.0.0","private":true,"dependencies":{"left-pad":"1.3.0"}}`
	lock := `{"name":"t","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{` +
		`"":{"name":"t","version":"1.0.0","dependencies":{"left-pad":"1.3.0"}},` +
		`"node_modules/left-pad":{"version":"1.3.0","resolved":"https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz",` +
		`"integrity":"sha512-XI5MPzVNApjAyhQzphX8BkmKsKUxD4LdyK24iZeQEcbXYiUgRapzuAbaGigBx9A9S8AR5gbpfMuu+fiTIOfLaQ=="}}}`
	for name, body := range map[string]string{"package.json": pkg, "package-lock.json": lock} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
