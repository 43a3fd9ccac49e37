package runtest

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"canistry/pkg/config"
	"canistry/pkg/lifecycle"
)

// CheckCLI is the command-line test every binary's main_test runs (README "Command line"):
// --version, --help, check-config and -check with a good and a bad configuration, a missing
// -env-file, and stray arguments, each through run in-process. name is the binary's short name
// (api, poller, notifier).
func CheckCLI(t *testing.T, run RunFunc, name string) {
	t.Helper()
	dir := t.TempDir()
	envFile := filepath.Join(dir, "good.env")
	const adminKey = "cli-test-admin-key-never-printed"
	good := "DATA_DIR=" + dir + "\nADMIN_API_KEY=" + adminKey + "\nNATS_URL=nats://user:natspass@127.0.0.1:4222\n"
	if err := os.WriteFile(envFile, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := map[string]string{"LOG_LEVEL": "loud", "REFRESH_CONCURRENCY": "0", "RELAY_ROUTES": filepath.Join(dir, "routes.json"),
		"USE_HTTPS": "true", "SSL_CERT_PATH": filepath.Join(dir, "cert.pem"), "SSL_KEY_PATH": filepath.Join(dir, "key.pem"),
		"ADMIN_API_KEY": "short-secret"}
	var helpWants []string
	for _, v := range config.Vars() {
		helpWants = append(helpWants, v.Name)
	}
	cases := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr []string // substrings of the error; nil: no error
		want    []string // substrings of stdout
		notWant []string
	}{
		{name: "--version", args: []string{"--version"}, want: []string{"canistry-" + name + " ", "commit ", "go1."}},
		{name: "-version", args: []string{"-version"}, want: []string{"canistry-" + name + " "}},
		{name: "--help", args: []string{"--help"}, want: append([]string{"check-config", "-env-file", "[./data]", "[@every 1m]"}, helpWants...)},
		{name: "-h", args: []string{"-h"}, want: []string{"Usage:", "LOG_LEVEL [info]"}},
		{name: "check-config good", args: []string{"check-config", "-env-file", envFile},
			want:    []string{"configuration OK", "ADMIN_API_KEY=(set, not shown)", "DATA_DIR=" + dir, "LOG_LEVEL=info  # default", "NATS_URL=nats://REDACTED@127.0.0.1:4222"},
			notWant: []string{adminKey, "natspass"}},
		{name: "-check good, flag first", args: []string{"-env-file", envFile, "-check"}, want: []string{"configuration OK"}},
		{name: "check-config bad lists every problem", args: []string{"check-config", "-env-file", filepath.Join(dir, "missing.env")}, env: bad,
			wantErr: []string{"missing.env does not exist", "LOG_LEVEL", "REFRESH_CONCURRENCY", "ADMIN_API_KEY (value not shown)", "USE_HTTPS", "RELAY_ROUTES", "problem(s)"},
			want:    []string{"effective configuration"}, notWant: []string{"short-secret"}},
		{name: "missing -env-file", args: []string{"-env-file", filepath.Join(dir, "missing.env")}, wantErr: []string{"missing.env does not exist"}},
		{name: "stray argument", args: []string{"version"}, wantErr: []string{`unexpected argument "version"`}},
		{name: "stray argument after a command", args: []string{"check-config", "now"}, wantErr: []string{`unexpected argument "now"`}},
		{name: "unknown flag", args: []string{"--verbose"}, wantErr: []string{"-verbose", "--help"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			env := tc.env
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			// A run that starts serving instead of answering would block: OnListen fails the test.
			opts := lifecycle.Options{OnListen: func(a net.Addr) { t.Errorf("%v started serving on %v", tc.args, a); cancel() }}
			err := run(ctx, tc.args, func(k string) string { return env[k] }, &out, opts)
			checkCLIResult(t, tc.args, err, out.String(), tc.wantErr, tc.want, tc.notWant)
		})
	}
}

func checkCLIResult(t *testing.T, args []string, err error, out string, wantErr, want, notWant []string) {
	t.Helper()
	switch {
	case wantErr == nil && err != nil:
		t.Fatalf("run %v: %v\n%s", args, err, out)
	case wantErr != nil && err == nil:
		t.Fatalf("run %v: no error, want one naming %q\n%s", args, wantErr, out)
	}
	for _, w := range wantErr {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("run %v: error does not name %q:\n%v", args, w, err)
		}
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("run %v: output lacks %q:\n%s", args, w, out)
		}
	}
	for _, w := range notWant {
		if strings.Contains(out, w) || (err != nil && strings.Contains(err.Error(), w)) {
			t.Errorf("run %v: printed %q", args, w)
		}
	}
}
