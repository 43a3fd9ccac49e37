package lifecycle_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"canistry/pkg/lifecycle"
)

func getenv(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func start(t *testing.T, name string, env map[string]string, embed bool) *lifecycle.Base {
	t.Helper()
	b, err := lifecycle.Start(t.Context(), name, []string{"-env-file", ""}, getenv(env), io.Discard, lifecycle.Options{EmbedNATS: embed})
	if err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := b.Stack.Shutdown(10*time.Second, b.Logger); err != nil {
			t.Errorf("shutdown %s: %v", name, err)
		}
	})
	return b
}

// TestStart_GeneratedNATSToken: without NATS_TOKEN the embedded server still demands a token,
// generated into DATA_DIR/nats.token (0600); a second binary with the same data directory reads
// it and connects; a client without it is refused.
func TestStart_GeneratedNATSToken(t *testing.T) {
	data := t.TempDir()
	env := map[string]string{"DATA_DIR": data, "NATS_URL": "nats://127.0.0.1:0", "LOG_LEVEL": "error"}
	api := start(t, "api", env, true)
	if api.NATS == nil {
		t.Fatal("embedded server not started")
	}

	path := filepath.Join(data, "nats.token")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file mode %04o, want 0600", fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(string(b))

	// No token, a wrong token: refused. The file's token: accepted.
	for _, opts := range [][]nats.Option{{}, {nats.Token("forged")}} {
		nc, err := nats.Connect(api.NATSURL, append(opts, nats.Timeout(10*time.Second))...)
		if err == nil {
			nc.Close()
			t.Fatal("embedded NATS server accepted a client without the token")
		}
		if !errors.Is(err, nats.ErrAuthorization) && !strings.Contains(strings.ToLower(err.Error()), "authorization") {
			t.Fatalf("connect without token: %v, want an authorization error", err)
		}
	}
	nc, err := nats.Connect(api.NATSURL, nats.Token(token), nats.Timeout(10*time.Second))
	if err != nil {
		t.Fatalf("connect with the file's token: %v", err)
	}
	nc.Close()

	penv := map[string]string{"DATA_DIR": data, "NATS_URL": api.NATSURL, "LOG_LEVEL": "error"}
	poller := start(t, "poller", penv, false)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := poller.Bus.Flush(ctx); err != nil || !poller.Bus.Connected() {
		t.Fatalf("second binary with the same data directory is not connected: %v (%s)", err, poller.Bus.Status())
	}
	if !api.Bus.Connected() {
		t.Fatalf("api bus %s", api.Bus.Status())
	}
}

// TestStart_NATSTokenConfiguredWins: NATS_TOKEN set means no file is written.
func TestStart_NATSTokenConfiguredWins(t *testing.T) {
	data := t.TempDir()
	env := map[string]string{"DATA_DIR": data, "NATS_URL": "nats://127.0.0.1:0", "NATS_TOKEN": "configured-token-0123", "LOG_LEVEL": "error"}
	api := start(t, "api", env, true)
	if _, err := os.Stat(filepath.Join(data, "nats.token")); !os.IsNotExist(err) {
		t.Fatalf("token file written although NATS_TOKEN is set: %v", err)
	}
	nc, err := nats.Connect(api.NATSURL, nats.Token("configured-token-0123"), nats.Timeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	nc.Close()
}
