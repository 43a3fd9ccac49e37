// Package runtest runs a binary's run function in-process for its main_test.go: it captures
// the JSON log, learns the address the binary bound from lifecycle.Options.OnListen (so tests
// can use port 0), and checks that shutdown is clean.
package runtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"canistry/pkg/lifecycle"
)

// RunFunc is the signature of every binary's run (lifecycle.RunFunc).
type RunFunc = lifecycle.RunFunc

// Proc is a running binary.
type Proc struct {
	Addr   string // the bound HTTP address, host:port (net.Addr.String)
	cancel context.CancelFunc
	done   chan error
	log    *syncBuffer
}

// Start runs run with env (and nothing else from the real environment) and waits until it
// serves (its OnListen hook fires). The process is stopped at cleanup if the test did not stop it.
func Start(tb testing.TB, run RunFunc, env map[string]string) *Proc {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &Proc{cancel: cancel, done: make(chan error, 1), log: &syncBuffer{}}
	getenv := func(k string) string { return env[k] }
	listening := make(chan net.Addr, 1)
	opts := lifecycle.Options{OnListen: func(a net.Addr) { listening <- a }}
	go func() { p.done <- run(ctx, []string{"-env-file", ""}, getenv, p.log, opts) }()
	select {
	case a := <-listening:
		p.Addr = a.String()
	case err := <-p.done:
		cancel()
		tb.Fatalf("run exited before listening: %v\n%s", err, p.Log())
	case <-time.After(30 * time.Second):
		cancel()
		tb.Fatalf("not listening within 30s:\n%s", p.Log())
	}
	tb.Cleanup(func() { cancel() })
	return p
}

// URL returns http://<host reachable from the test>:<port><path>. A wildcard host becomes the
// IPv4 loopback.
func (p *Proc) URL(path string) string {
	host, port := splitHostPort(p.Addr)
	switch host {
	case "", "::", "0.0.0.0":
		host = "127.0.0.1"
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return "http://" + host + ":" + port + path
}

// Port returns the bound port.
func (p *Proc) Port() string { _, port := splitHostPort(p.Addr); return port }

// Stop cancels the context (as SIGTERM would) and returns run's error.
func (p *Proc) Stop(tb testing.TB) error {
	tb.Helper()
	p.cancel()
	select {
	case err := <-p.done:
		return err
	case <-time.After(30 * time.Second):
		tb.Fatalf("run did not return within 30s of cancel:\n%s", p.Log())
		return nil
	}
}

// Log returns everything logged so far.
func (p *Proc) Log() string { return p.log.String() }

// Records returns the log as decoded JSON records.
func (p *Proc) Records() []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(p.Log()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// Errors returns the log records at level ERROR.
func (p *Proc) Errors() []map[string]any {
	var out []map[string]any
	for _, r := range p.Records() {
		if r["level"] == "ERROR" {
			out = append(out, r)
		}
	}
	return out
}

// WaitHTTP polls url until it answers want or 30 s pass.
func WaitHTTP(tb testing.TB, url string, want int) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == want {
				return
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		<-time.After(10 * time.Millisecond) // polling interval
	}
	tb.Fatalf("%s did not answer %d within 30s (last: %s)", url, want, last)
}

func splitHostPort(addr string) (string, string) {
	i := strings.LastIndex(addr, ":")
	if i < 0 {
		return addr, ""
	}
	return strings.Trim(addr[:i], "[]"), addr[i+1:]
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// CheckRunsWithoutBus is the main_test of a binary that connects to NATS but does not host it
// (poller, notifier): run, on port 0 via addrVar and with no NATS server listening, must start
// and serve /healthz and /metrics, answer /readyz with 503 (bus down), stop cleanly on cancel
// with no ERROR record, export canistry_ready 0, never show the token NATS_URL carries, and refuse a bad addrVar naming it.
func CheckRunsWithoutBus(t *testing.T, run RunFunc, addrVar string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	const natsSecret = "nats-url-token-must-not-be-logged"
	natsURL := "nats://" + natsSecret + "@" + ln.Addr().String()
	ln.Close()
	env := map[string]string{"DATA_DIR": t.TempDir(), addrVar: "127.0.0.1:0", "NATS_URL": natsURL, "HEARTBEAT_INTERVAL": "100ms"}
	p := Start(t, run, env)
	for path, want := range map[string]int{"/healthz": http.StatusOK, "/metrics": http.StatusOK, "/readyz": http.StatusServiceUnavailable} {
		resp, err := http.Get(p.URL(path))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s = %d, want %d", path, resp.StatusCode, want)
		}
	}
	// The series every binary shares (lifecycle.NewMetricsRegistry): not ready, bus down.
	CheckSeries(t, MetricsText(t, p.URL("")), []string{"canistry_ready 0", "canistry_storage_failing 0",
		"canistry_heartbeat_interval_seconds 0.1"})
	const beat = "canistry_heartbeat_last_success_timestamp_seconds"
	first := SeriesValue(t, MetricsText(t, p.URL("")), beat)
	WaitFor(t, "a later heartbeat in "+beat, func() bool { return SeriesValue(t, MetricsText(t, p.URL("")), beat) > first })
	if err := p.Stop(t); err != nil {
		t.Fatalf("run returned %v", err)
	}
	if errs := p.Errors(); len(errs) > 0 {
		t.Errorf("errors logged during a clean run: %v", errs)
	}
	if strings.Contains(p.Log(), natsSecret) {
		t.Errorf("the token in NATS_URL was logged:\n%s", p.Log())
	}

	bad := map[string]string{"DATA_DIR": t.TempDir(), addrVar: "nowhere"}
	err = run(t.Context(), []string{"-env-file", ""}, func(k string) string { return bad[k] }, io.Discard, lifecycle.Options{})
	if err == nil || !strings.Contains(err.Error(), addrVar) {
		t.Fatalf("run with %s=nowhere = %v, want an error naming %s", addrVar, err, addrVar)
	}
}
