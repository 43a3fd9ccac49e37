package main

import (
	"net"
	"net/http"
	"strings"
	"testing"

	"canistry/pkg/lifecycle/runtest"
)

func TestRun(t *testing.T) {
	// No NATS server on this port: the poller must start anyway and keep retrying in the background.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	natsURL := "nats://" + ln.Addr().String()
	ln.Close()
	env := map[string]string{
		"DATA_DIR":           t.TempDir(),
		"POLLER_ADDR":        "127.0.0.1:0",
		"NATS_URL":           natsURL,
		"HEARTBEAT_INTERVAL": "100ms",
	}
	p := runtest.Start(t, run, env)
	for _, path := range []string{"/healthz", "/metrics"} {
		resp, err := http.Get(p.URL(path))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d", path, resp.StatusCode)
		}
	}
	// Not ready while the bus is down: /readyz says so.
	resp, err := http.Get(p.URL("/readyz"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("GET /readyz without NATS = %d, want 503", resp.StatusCode)
	}
	if err := p.Stop(t); err != nil {
		t.Fatalf("run returned %v", err)
	}
	if errs := p.Errors(); len(errs) > 0 {
		t.Errorf("errors logged during a clean run: %v", errs)
	}
}

func TestRun_ErrBadConfig(t *testing.T) {
	env := map[string]string{"DATA_DIR": t.TempDir(), "POLLER_ADDR": "nowhere"}
	err := run(t.Context(), []string{"-env-file", ""}, func(k string) string { return env[k] }, &strings.Builder{})
	if err == nil || !strings.Contains(err.Error(), "POLLER_ADDR") {
		t.Fatalf("run = %v, want an error naming POLLER_ADDR", err)
	}
}
