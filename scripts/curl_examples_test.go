package scripts_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// buildRealBinaries compiles bin/api, bin/poller and bin/notifier into dir.
func buildRealBinaries(t *testing.T, dir string) {
	t.Helper()
	for _, b := range []string{"api", "poller", "notifier"} {
		build := exec.CommandContext(t.Context(), "go", "build", "-o", filepath.Join(dir, "bin", b), "./cmd/"+b)
		build.Dir = repoRoot(t)
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build cmd/%s: %v\n%s", b, err, out)
		}
	}
}

// realBinaryVars are run_local.sh's variables for the binaries in dir/bin, on free loopback
// ports, with the data in dir/data and an IC that is not there; it returns the api's port too.
func realBinaryVars(t *testing.T, dir string) ([]string, int) {
	t.Helper()
	api, notifier, poller, nats := freePort(t), freePort(t), freePort(t), freePort(t)
	return []string{
		"BIN_DIR=" + filepath.Join(dir, "bin"), "DATA_DIR=" + filepath.Join(dir, "data"),
		fmt.Sprintf("API_ADDR=[::]:%d", api), fmt.Sprintf("NOTIFIER_ADDR=[::]:%d", notifier),
		fmt.Sprintf("POLLER_ADDR=[::1]:%d", poller), fmt.Sprintf("NATS_URL=nats://127.0.0.1:%d", nats),
		fmt.Sprintf("NOTIFIER_URL=http://[::1]:%d", notifier), "IC_URL=http://127.0.0.1:9",
		"LOG_LEVEL=warn", "READY_TIMEOUT=60",
	}, api
}

// TestCurlExamples runs curl_examples.sh against the three real binaries, started by
// run_local.sh as `make run` starts them, twice (the script cleans up after itself, so a second
// run must pass too), with the keys taken from a .env file as a developer would have them.
func TestCurlExamples(t *testing.T) {
	requireTool(t, "curl")
	requireIPv6(t)
	dir := t.TempDir()
	buildRealBinaries(t, dir)
	vars, api := realBinaryVars(t, dir)
	keys := "ADMIN_API_KEY=curl-examples-admin-key\nNOTIFY_API_KEYS=curl-examples-notify-key,another-notify-key-2\n"
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte(keys), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), scriptTimeout)
	defer cancel()
	run, lines := startRunLocal(ctx, t, dir, vars)
	lines.waitFor(ctx, t, "canistry is running")

	// ENV_FILE unset: the script reads ./.env, as after `make run` in a checkout.
	env := []string{fmt.Sprintf("API=http://[::1]:%d", api)}
	for round := 1; round <= 2; round++ {
		cmd := exec.CommandContext(ctx, scriptPath(t, "curl_examples.sh"))
		cmd.Dir, cmd.Env = dir, append(withoutEnvFile(baseEnv()), env...)
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.HasSuffix(string(out), "every reply as expected\n") {
			t.Fatalf("run %d: %v\n%s\nbinaries:\n%s", round, err, out, lines) // not rest(): the binaries are still running
		}
		if round == 1 {
			t.Logf("curl_examples.sh:\n%s", out)
		}
	}
	if err := run.stop(); err != nil {
		t.Errorf("run_local.sh after SIGTERM: %v\n%s", err, lines.rest())
	}
}

func withoutEnvFile(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "ENV_FILE=") {
			out = append(out, kv)
		}
	}
	return out
}

// TestCurlExamples_InREADME: README's "Every endpoint with curl" block is curl_examples.sh from
// its "# Every endpoint with curl" line on, so that what README shows is what the test runs.
func TestCurlExamples_InREADME(t *testing.T) {
	block := readmeCurlBlock(t)
	script, err := os.ReadFile(scriptPath(t, "curl_examples.sh"))
	if err != nil {
		t.Fatal(err)
	}
	_, body, ok := strings.Cut(string(script), "\n# Every endpoint with curl\n")
	if !ok {
		t.Fatal(`curl_examples.sh has no "# Every endpoint with curl" line`)
	}
	if want := "# Every endpoint with curl\n" + strings.TrimSuffix(body, "\n"); block != want {
		t.Errorf("README's block differs from scripts/curl_examples.sh; copy the script from its \"# Every endpoint with curl\" line:\n%s",
			firstDifference(block, want))
	}
}

// TestCurlExamples_READMEBlockPasted: the README block pasted into bash on its own (no script,
// no lib.sh) defines everything it calls: against a server that answers 418 it stops at the
// first call with its own error, never "command not found" and never "every reply as expected".
func TestCurlExamples_READMEBlockPasted(t *testing.T) {
	requireTool(t, "curl")
	teapot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	t.Cleanup(teapot.Close)
	cmd := exec.CommandContext(t.Context(), "bash")
	cmd.Dir = t.TempDir()
	cmd.Env = append(baseEnv(), "API="+teapot.URL,
		"ADMIN_API_KEY=pasted-admin-key-0123456789", "NOTIFY_API_KEYS=pasted-notify-key-0123456789")
	cmd.Stdin = strings.NewReader(readmeCurlBlock(t) + "\necho shell still open\n")
	out, _ := cmd.CombinedOutput()
	for _, bad := range []string{"command not found", "every reply as expected"} {
		if strings.Contains(string(out), bad) {
			t.Errorf("pasted block printed %q:\n%s", bad, out)
		}
	}
	for _, want := range []string{"418 \n", "error: expected 201: curl", "shell still open"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("pasted block did not print %q:\n%s", want, out)
		}
	}
}

// readmeCurlBlock is the bash block of README's "Every endpoint with curl" section.
func readmeCurlBlock(t *testing.T) string {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n### Every endpoint with curl\n")
	if !ok {
		t.Fatal(`README has no "### Every endpoint with curl" section`)
	}
	_, block, ok := strings.Cut(section, "```bash\n")
	block, _, ok2 := strings.Cut(block, "\n```\n")
	if !ok || !ok2 {
		t.Fatal("no ```bash block in README's \"Every endpoint with curl\" section")
	}
	return block
}

// firstDifference shows the first line where got and want differ.
func firstDifference(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d:\nREADME: %q\nscript: %q", i+1, gl, wl)
		}
	}
	return ""
}
