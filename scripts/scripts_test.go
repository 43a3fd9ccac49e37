package scripts_test

import (
	"bufio"
	"crypto/tls"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"canistry/pkg/config"
	"canistry/pkg/tlsconfig"
)

// scripts lists every script here; the test below fails when one is added without being listed.
var scripts = []string{
	"bench_compare.sh", "check_server.sh", "curl_examples.sh", "demo.sh", "deploy.sh", "deploy_test.sh", "generate_cert.sh", "letsencrypt_deploy_hook.sh",
	"package.sh", "run_local.sh", "setup.sh", "setup_letsencrypt.sh", "update_and_restart.sh",
}

func TestScripts_Shellcheck(t *testing.T) {
	requireTool(t, "shellcheck")
	files, err := filepath.Glob(filepath.Join(repoRoot(t), "scripts", "*.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		if name != "lib.sh" && !slices.Contains(scripts, name) {
			t.Errorf("%s is not in the scripts list of this test", name)
		}
	}
	// deploy_test.sh's helpers live in their own folder.
	helpers, err := filepath.Glob(filepath.Join(repoRoot(t), "scripts", "deploy_test", "*.sh"))
	if err != nil || len(helpers) == 0 {
		t.Fatalf("no scripts/deploy_test/*.sh (%v)", err)
	}
	// The Debian package's maintainer scripts (make package).
	for _, m := range []string{"postinst", "prerm", "postrm"} {
		helpers = append(helpers, filepath.Join(repoRoot(t), "scripts", "package", m))
	}
	cmd := exec.CommandContext(t.Context(), "shellcheck", append([]string{"-x", "--severity=style"}, append(files, helpers...)...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("shellcheck: %v\n%s", err, out)
	}
}

func TestScripts_HeaderAndHelp(t *testing.T) {
	for _, name := range scripts {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(scriptPath(t, name))
			if err != nil {
				t.Fatal(err)
			}
			src := string(b)
			if !strings.HasPrefix(src, "#!/usr/bin/env bash\n") {
				t.Error("does not start with #!/usr/bin/env bash")
			}
			if !strings.Contains(src, "\nset -euo pipefail\n") {
				t.Error("no set -euo pipefail")
			}
			if fi, err := os.Stat(scriptPath(t, name)); err != nil || fi.Mode()&0o111 == 0 {
				t.Error("not executable")
			}
			r := runScript(t, t.TempDir(), nil, name, "--help")
			if r.code != 0 || !strings.Contains(r.out, "Usage: ") {
				t.Errorf("--help: exit %d, output:\n%s", r.code, r.out)
			}
			if r := runScript(t, t.TempDir(), nil, name, "--no-such-option"); r.code == 0 {
				t.Errorf("--no-such-option: exit 0, want non-zero\n%s", r.out)
			}
		})
	}
}

// TestEnvExample lists every configuration variable with its default, so that deploy.sh's copy
// of it documents the whole configuration.
func TestEnvExample(t *testing.T) {
	f, err := os.Open(filepath.Join(repoRoot(t), ".env.example"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	values := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Errorf("not KEY=VALUE: %q", line)
			continue
		}
		if _, dup := values[k]; dup {
			t.Errorf("%s set twice", k)
		}
		values[k] = strings.Trim(v, `"`)
	}
	known := map[string]bool{}
	for _, v := range config.Vars() {
		known[v.Name] = true
		got, ok := values[v.Name]
		switch {
		case !ok:
			t.Errorf("%s is missing (default %q)", v.Name, v.Default)
		case strings.Contains(v.Default, "$"):
			if got != "" {
				t.Errorf("%s = %q, want empty (its default %q depends on another variable)", v.Name, got, v.Default)
			}
		case got != v.Default:
			t.Errorf("%s = %q, want the default %q", v.Name, got, v.Default)
		}
	}
	for k := range values {
		if !known[k] {
			t.Errorf("%s is not a configuration variable (pkg/config)", k)
		}
	}
	if _, err := config.Load(func(k string) string { return values[k] }); err != nil {
		t.Errorf("the example does not load: %v", err)
	}
}

func TestGenerateCert(t *testing.T) {
	requireTool(t, "openssl")
	dir := t.TempDir()
	r := runScript(t, dir, nil, "generate_cert.sh", "dev.example.test")
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.out)
	}
	certFile, keyFile := filepath.Join(dir, "certs", "cert.pem"), filepath.Join(dir, "certs", "key.pem")
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatalf("not a key pair: %v", err)
	}
	if got := pair.Leaf.DNSNames; !slices.Contains(got, "dev.example.test") || !slices.Contains(got, "localhost") {
		t.Errorf("DNS names = %v, want dev.example.test and localhost", got)
	}
	if got := len(pair.Leaf.IPAddresses); got != 2 {
		t.Errorf("IP addresses = %v, want 127.0.0.1 and ::1", pair.Leaf.IPAddresses)
	}
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key mode = %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	if _, err := tlsconfig.Load(certFile, keyFile, true, nil); err != nil {
		t.Errorf("tlsconfig does not load it: %v", err)
	}

	t.Run("KeepsExisting", func(t *testing.T) {
		before, _ := os.ReadFile(certFile)
		if r := runScript(t, dir, nil, "generate_cert.sh", "dev.example.test"); r.code != 0 {
			t.Fatalf("exit %d:\n%s", r.code, r.out)
		}
		if after, _ := os.ReadFile(certFile); string(after) != string(before) {
			t.Error("second run replaced the certificate")
		}
		if r := runScript(t, dir, nil, "generate_cert.sh", "--force", "dev.example.test"); r.code != 0 {
			t.Fatalf("--force: exit %d:\n%s", r.code, r.out)
		}
		if after, _ := os.ReadFile(certFile); string(after) == string(before) {
			t.Error("--force kept the certificate")
		}
	})
	t.Run("ErrBadDomain", func(t *testing.T) {
		if r := runScript(t, dir, nil, "generate_cert.sh", "a b"); r.code == 0 {
			t.Errorf("exit 0 for a bad domain:\n%s", r.out)
		}
	})
}

func TestLetsencryptDeployHook(t *testing.T) {
	dir := t.TempDir()
	lineage := filepath.Join(dir, "live", "example.com")
	if err := os.MkdirAll(lineage, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"fullchain.pem", "privkey.pem"} {
		if err := os.WriteFile(filepath.Join(lineage, f), []byte(f+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"RENEWED_LINEAGE=" + lineage, "CANISTRY_TLS_DIR=" + filepath.Join(dir, "tls"),
		"CANISTRY_GROUP=" + currentGroup(t)}
	for range 2 { // the second run finds nothing to do
		if r := runScript(t, dir, env, "letsencrypt_deploy_hook.sh"); r.code != 0 {
			t.Fatalf("exit %d:\n%s", r.code, r.out)
		}
	}
	for _, f := range []string{"fullchain.pem", "privkey.pem"} {
		p := filepath.Join(dir, "tls", "example.com", f)
		b, err := os.ReadFile(p)
		if err != nil || string(b) != f+"\n" {
			t.Errorf("%s = %q, %v", p, b, err)
		}
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o640 {
			t.Errorf("%s mode = %v, want 0640", p, fi.Mode().Perm())
		}
	}
}

func TestSetupLetsencrypt_DryRun(t *testing.T) {
	dir := t.TempDir()
	env := []string{"PREFIX=" + filepath.Join(dir, "usr"), "ETC_DIR=" + filepath.Join(dir, "etc"),
		"ENV_FILE=" + filepath.Join(dir, "etc", "canistry.env")}
	r := runScript(t, dir, env, "setup_letsencrypt.sh", "--dry-run", "example.com", "ops@example.com")
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.out)
	}
	for _, want := range []string{
		"certbot certonly --standalone", "--keep-until-expiring", "--deploy-hook",
		"RENEWED_LINEAGE=/etc/letsencrypt/live/example.com",
		"set SSL_CERT_PATH in " + filepath.Join(dir, "etc", "canistry.env"),
	} {
		if !strings.Contains(r.out, want) {
			t.Errorf("plan lacks %q:\n%s", want, r.out)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("--dry-run created %v", entries)
	}
}

func currentGroup(tb testing.TB) string {
	tb.Helper()
	u, err := user.Current()
	if err != nil {
		tb.Fatal(err)
	}
	g, err := user.LookupGroupId(u.Gid)
	if err != nil {
		tb.Fatal(err)
	}
	return g.Name
}
