package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCommandLine_Binaries: the command line through the three built binaries, linked as make
// build links them (-X version.Version and version.Commit): exit codes, stdout and stderr. A
// binary that started serving instead would run until the deadline and fail the case.
func TestCommandLine_Binaries(t *testing.T) {
	dir := t.TempDir()
	ldflags := "-X canistry/pkg/version.Version=v9.8.7-cli-test -X canistry/pkg/version.Commit=0123456789ab"
	for _, b := range []string{"api", "poller", "notifier"} {
		out, err := exec.Command("go", "build", "-ldflags", ldflags, "-o", filepath.Join(dir, b), "canistry/cmd/"+b).CombinedOutput()
		if err != nil {
			t.Fatalf("build %s: %v\n%s", b, err, out)
		}
	}
	env := filepath.Join(dir, "canistry.env")
	if err := os.WriteFile(env, []byte("DATA_DIR="+dir+"\nADMIN_API_KEY=binary-test-admin-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args       []string
		env        []string
		code       int
		stdout     string // a substring of stdout
		stderr     string // a substring of stderr
		notPrinted string
	}{
		{args: []string{"--version"}, stdout: "v9.8.7-cli-test (commit 0123456789ab, go1."},
		{args: []string{"--help"}, stdout: "HEARTBEAT_INTERVAL [5s]"},
		{args: []string{"version"}, code: 1, stderr: `unexpected argument "version"`},
		{args: []string{"-env-file", filepath.Join(dir, "nope.env")}, code: 1, stderr: "nope.env does not exist"},
		{args: []string{"check-config", "-env-file", env}, stdout: "configuration OK", notPrinted: "binary-test-admin-key"},
		{args: []string{"-check", "-env-file", env}, env: []string{"LOG_LEVEL=loud", "DATABASE_URL=postgres://u:pg-secret@127.0.0.1:1/x?sslmode=disable"},
			code: 1, stderr: "configuration has 2 problem(s)", notPrinted: "pg-secret"},
	}
	for _, b := range []string{"api", "poller", "notifier"} {
		for _, tc := range cases {
			t.Run(b+" "+strings.Join(tc.args, " "), func(t *testing.T) {
				ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
				defer cancel()
				cmd := exec.CommandContext(ctx, filepath.Join(dir, b), tc.args...)
				cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}, tc.env...)
				cmd.Dir = dir
				var stdout, stderr strings.Builder
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				err := cmd.Run()
				code := 0
				var exit *exec.ExitError
				if errors.As(err, &exit) {
					code = exit.ExitCode()
				} else if err != nil {
					t.Fatal(err)
				}
				if code != tc.code || !strings.Contains(stdout.String(), tc.stdout) || !strings.Contains(stderr.String(), tc.stderr) {
					t.Errorf("exit %d (want %d)\nstdout (want %q):\n%s\nstderr (want %q):\n%s", code, tc.code, tc.stdout, stdout.String(), tc.stderr, stderr.String())
				}
				if tc.notPrinted != "" && strings.Contains(stdout.String()+stderr.String(), tc.notPrinted) {
					t.Errorf("printed %q", tc.notPrinted)
				}
			})
		}
	}
}
