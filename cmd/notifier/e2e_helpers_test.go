package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"canistry/pkg/bus"
	"canistry/pkg/config"
	"canistry/pkg/lifecycle/runtest"
	"canistry/pkg/registry"
	"canistry/pkg/store"
)

const (
	e2eKey   = "e2e-notify-key-0123456789"
	e2eMiner = "ryjl3-tyaaa-aaaaa-aaaba-cai"
	e2eToken = "mxzaz-hqaaa-aaaar-qaada-cai"
	// patience bounds waits for things that should happen promptly (a hang guard only).
	patience = 30 * time.Second
)

// startNATS runs an embedded NATS server on a random port, as the api would.
func startNATS(t *testing.T) string {
	t.Helper()
	ns, err := bus.Serve(bus.ServerConfig{URL: "nats://127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	return ns.ClientURL()
}

func notifierEnv(dataDir, natsURL string) map[string]string {
	return map[string]string{
		"DATA_DIR":           dataDir,
		"NOTIFIER_ADDR":      "127.0.0.1:0",
		"NATS_URL":           natsURL,
		"NOTIFY_API_KEYS":    e2eKey,
		"HEARTBEAT_INTERVAL": "1s",
	}
}

// buildNotifier compiles this command into dir once per test.
func buildNotifier(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "notifier")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go build: %v", err)
	}
	return bin
}

// process is a notifier running as its own OS process.
type process struct {
	cmd  *exec.Cmd
	addr string
}

func startProcess(t *testing.T, bin string, env map[string]string) *process {
	t.Helper()
	cmd := exec.Command(bin, "-env-file", "")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd}
	t.Cleanup(func() { p.stop(t) })
	p.addr = servingAddr(t, env, cmd.Process.Pid)
	return p
}

// servingAddr is the address the notifier process pid serves on, as its heartbeat row in the
// process registry (GET /system/status) says: a binary writes its first beat, with the address
// of its open listener, as it starts serving. Nothing is read from its log.
func servingAddr(t *testing.T, env map[string]string, pid int) string {
	t.Helper()
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	instance := host + ":" + strconv.Itoa(pid)
	target := cfg.DatabaseURL // as lifecycle.Start chooses
	if target == "" {
		target = cfg.DatabasePath
	}
	var st *store.Store
	addr := ""
	runtest.WaitFor(t, "the notifier's heartbeat row", func() bool {
		if st == nil { // the process creates the database: open it once it is there
			if _, err := os.Stat(cfg.DatabasePath); cfg.DatabaseURL == "" && err != nil {
				return false
			}
			if st, err = store.Open(t.Context(), target); err != nil {
				st = nil
				return false
			}
		}
		procs, err := st.Processes(t.Context())
		for _, p := range procs {
			if err == nil && p.Name == registry.ProcessNotifier && p.Instance == instance {
				addr = p.Addr
			}
		}
		return addr != ""
	})
	_ = st.Close()
	return addr
}

// stop sends SIGTERM, as systemd does, and waits for a clean exit.
func (p *process) stop(t *testing.T) {
	t.Helper()
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.cmd.Wait(); err != nil {
		t.Errorf("notifier process exited with %v", err)
	}
}

func solutionBody(ts uint64) []byte {
	return fmt.Appendf(nil, `{"event":"solution_found","miner_id":%q,"timestamp":%d,"data":{"token_id":%q,"ticker":"TST","block_height":9,"nonce":1,"hash":"00ff","difficulty":5,"reward":50,"decimals":8}}`,
		e2eMiner, ts, e2eToken)
}

func rawRequest(addr, key string, body []byte) []byte {
	return fmt.Appendf(nil, "POST /miner-notifications HTTP/1.1\r\nHost: %s\r\nuser-agent: ic/1.0\r\n"+
		"Content-Type: application/json\r\nX-API-Key: %s\r\nContent-Length: %d\r\n\r\n%s", addr, key, len(body), body)
}

// send writes req on a new TCP connection and returns the exact response bytes.
func send(addr string, req []byte) ([]byte, error) { return sendWithin(patience, addr, req) }

// sendWithin is send for a reply that may take up to d (a hang guard).
func sendWithin(d time.Duration, addr string, req []byte) ([]byte, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(d))
	return runtest.RoundTrip(c, bufio.NewReader(c), req)
}

// storm sends n jittered concurrent copies, copy i to addrs[i%len(addrs)].
func storm(t *testing.T, addrs []string, key string, body []byte, n int) [][]byte {
	t.Helper()
	out := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-time.After(time.Duration(rand.N(20_000)) * time.Microsecond) // replica jitter
			addr := addrs[i%len(addrs)]
			out[i], errs[i] = send(addr, rawRequest(addr, key, body))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("copy %d: %v", i, err)
		}
	}
	return out
}

func checkIdentical(t *testing.T, resps [][]byte, status string) {
	t.Helper()
	for i, r := range resps {
		if !bytes.Equal(r, resps[0]) {
			t.Fatalf("copy %d differs:\n%q\nvs\n%q", i, r, resps[0])
		}
	}
	if len(resps[0]) >= 1024 || bytes.Contains(bytes.ToLower(resps[0]), []byte("\r\ndate:")) ||
		!bytes.HasPrefix(resps[0], []byte("HTTP/1.1 "+status+"\r\n")) {
		t.Fatalf("response %q: want status %s, < 1024 bytes, no Date", resps[0], status)
	}
}

func dialWS(t *testing.T, addr string) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.DefaultDialer.DialContext(t.Context(), "ws://"+addr+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// readUntil reads events up to and including the first of event name.
func readUntil(t *testing.T, c *websocket.Conn, name string) []registry.Event {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(patience))
	var out []registry.Event
	for {
		var e registry.Event
		if err := c.ReadJSON(&e); err != nil {
			t.Fatalf("read websocket after %d events: %v", len(out), err)
		}
		out = append(out, e)
		if e.Event == name {
			return out
		}
	}
}

// sentinel sends a distinct notification; a client that has read it has read everything sent
// before it over the same bus path.
func sentinel(t *testing.T, addr string, ts uint64) {
	t.Helper()
	body := fmt.Appendf(nil, `{"event":"sentinel","miner_id":%q,"timestamp":%d,"data":{}}`, e2eMiner, ts)
	if r, err := send(addr, rawRequest(addr, e2eKey, body)); err != nil || !bytes.HasPrefix(r, []byte("HTTP/1.1 200")) {
		t.Fatalf("sentinel: %q %v", r, err)
	}
}

func count(evs []registry.Event, name string) int {
	n := 0
	for _, e := range evs {
		if e.Event == name {
			n++
		}
	}
	return n
}

// waitWSClients polls /ws-status until it counts n clients.
func waitWSClients(t *testing.T, addr string, n int64) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for {
		var s struct{ Clients int64 }
		if r, err := send(addr, []byte("GET /ws-status HTTP/1.1\r\nHost: x\r\n\r\n")); err == nil {
			if i := bytes.Index(r, []byte("\r\n\r\n")); i > 0 && json.Unmarshal(r[i+4:], &s) == nil && s.Clients == n {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/ws-status never counted %d clients", addr, n)
		}
		<-time.After(5 * time.Millisecond) // polling interval
	}
}
