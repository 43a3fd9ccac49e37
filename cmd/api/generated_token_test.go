package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// TestThreeProcesses_GeneratedNATSToken starts the three binaries together on an empty data
// directory without NATS_TOKEN: they agree on the token generated into DATA_DIR/nats.token
// (mode 0600) and all connect, while a client without it is refused by the embedded server.
// The notifier runs with TRUSTED_PROXIES excluding loopback, so a forged X-Forwarded-Host from
// this (loopback) client is refused: TRUSTED_PROXIES reaches the real binary's origin check.
func TestThreeProcesses_GeneratedNATSToken(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binaries")
	}
	bin := buildBinaries(t)
	data := t.TempDir()
	apiAddr, notifierAddr, pollerAddr, natsAddr := freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NATS_TOKEN=") && !strings.HasPrefix(kv, "TRUSTED_PROXIES=") {
			env = append(env, kv)
		}
	}
	env = append(env,
		"DATA_DIR="+data,
		"API_ADDR="+apiAddr,
		"NOTIFIER_ADDR="+notifierAddr,
		"NOTIFIER_URL=http://"+notifierAddr,
		"POLLER_ADDR="+pollerAddr,
		"NATS_URL=nats://"+natsAddr,
		"IC_URL=http://127.0.0.1:1",
		"HEARTBEAT_INTERVAL=1s", // alive = a beat within 3 s: robust to a loaded CI machine
		"REFRESH_SCHEDULE=@every 1h",
		"TRUSTED_PROXIES=192.0.2.1",
	)
	var procs [3]*binProc
	var wg sync.WaitGroup
	for i, name := range []string{"api", "poller", "notifier"} {
		wg.Go(func() { procs[i] = startBin(t, bin, name, env) })
	}
	wg.Wait()

	for _, addr := range []string{apiAddr, pollerAddr, notifierAddr} {
		waitFor(t, addr+" ready (bus connected)", func() bool { return httpStatus("http://"+addr+"/readyz") == http.StatusOK })
	}
	waitFor(t, "three live processes", func() bool {
		resp, err := http.Get("http://" + apiAddr + "/system/status")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var st status
		return json.NewDecoder(resp.Body).Decode(&st) == nil && st.AllAlive
	})

	path := filepath.Join(data, "nats.token")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("nats.token mode %04o, want 0600", fi.Mode().Perm())
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(string(raw))
	if nc, err := nats.Connect("nats://"+natsAddr, nats.Timeout(10*time.Second)); err == nil {
		nc.Close()
		t.Error("the embedded NATS server accepted a client without a token")
	} else if !errors.Is(err, nats.ErrAuthorization) && !strings.Contains(strings.ToLower(err.Error()), "authorization") {
		t.Errorf("unauthenticated connect: %v, want an authorization error", err)
	}
	nc, err := nats.Connect("nats://"+natsAddr, nats.Token(token), nats.Timeout(10*time.Second))
	if err != nil {
		t.Fatalf("connect with the generated token: %v", err)
	}
	nc.Close()

	// Forged X-Forwarded-Host straight to the notifier, from a peer outside TRUSTED_PROXIES.
	req, _ := http.NewRequestWithContext(t.Context(), "GET", "http://"+notifierAddr+"/ws", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	req.Header.Set("Origin", "https://public.example")
	req.Header.Set("X-Forwarded-Host", "public.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("forged X-Forwarded-Host from an untrusted peer: %d, want 403", resp.StatusCode)
	}

	for _, p := range []*binProc{procs[2], procs[1], procs[0]} {
		p.stop(t)
	}
}
