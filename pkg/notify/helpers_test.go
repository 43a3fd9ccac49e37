package notify_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"canistry/pkg/bus"
	"canistry/pkg/internal/testclock"
	"canistry/pkg/notify"
	"canistry/pkg/registry"
	"canistry/pkg/store"
	"canistry/pkg/ws"
)

const (
	testKey = "test-notify-key-0123456789"
	minerID = "ryjl3-tyaaa-aaaaa-aaaba-cai"
	tokenID = "mxzaz-hqaaa-aaaar-qaada-cai"
	// patience bounds waits for things that should happen promptly: a hang guard, not a
	// performance assertion.
	patience = 20 * time.Second
)

// shared is what several notifier instances have in common: the database file and the bus.
type shared struct {
	dbPath  string
	natsURL string
	events  chan registry.Event // every event published on canistry.events.>
	hub     *ws.Hub
	hubURL  string
}

func newShared(t *testing.T) *shared {
	t.Helper()
	ns, err := bus.Serve(bus.ServerConfig{URL: "nats://127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	sh := &shared{dbPath: filepath.Join(t.TempDir(), "registry.db"), natsURL: ns.ClientURL(),
		events: make(chan registry.Event, 1024)}
	conn := connect(t, sh.natsURL)
	// A hub fed from the bus, as cmd/notifier wires it: one WebSocket message per event.
	sh.hub = ws.NewHub(ws.Config{})
	srv := httptest.NewServer(sh.hub)
	t.Cleanup(func() {
		_ = sh.hub.Close(context.Background())
		srv.Close()
	})
	sh.hubURL = "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
	_, err = bus.Subscribe(conn, bus.SubjectEventsAll, "", func(_ string, e registry.Event) {
		sh.hub.Publish(e)
		sh.events <- e
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	return sh
}

func connect(t *testing.T, url string) *bus.Conn {
	t.Helper()
	c, err := bus.Connect(bus.ConnectConfig{URL: url, Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// instance is one notifier's intake on the shared database and bus, served on loopback.
type instance struct {
	intake *notify.Intake
	store  *store.Store
	srv    *httptest.Server
	addr   string
}

type opts struct {
	clock     *testclock.Clock
	limits    notify.Limits
	window    time.Duration
	retention time.Duration
	decide    time.Duration // DecideTimeout; 0 = the default
	metrics   prometheus.Registerer
}

func newInstance(t *testing.T, sh *shared, o opts) *instance {
	t.Helper()
	st, err := store.Open(t.Context(), sh.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	conn := connect(t, sh.natsURL)
	cfg := notify.Config{Store: st, Keys: []string{"another-key-abcdefghijkl", testKey}, Window: o.window,
		Publish: conn.PublishEvent, Refresh: conn.RequestRefresh,
		Logger: slog.New(slog.DiscardHandler), Limits: o.limits, Retention: o.retention,
		DecideTimeout: o.decide, Metrics: o.metrics}
	if cfg.Window == 0 {
		cfg.Window = 5 * time.Minute
	}
	if o.clock != nil {
		cfg.Now = o.clock.Now
	}
	in, err := notify.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(in)
	inst := &instance{intake: in, store: st, srv: srv, addr: srv.Listener.Addr().String()}
	t.Cleanup(inst.stop)
	return inst
}

// stop shuts the instance down like a process exit: server, intake (last copy counts), store.
func (i *instance) stop() {
	if i.srv == nil {
		return
	}
	i.srv.Close()
	_ = i.intake.Close(context.Background())
	_ = i.store.Close()
	i.srv = nil
}

// notification returns a JSON body.
func notification(event string, ts uint64, data string) []byte {
	return fmt.Appendf(nil, `{"event":%q,"miner_id":%q,"timestamp":%d,"data":%s}`, event, minerID, ts, data)
}

func solution(ts uint64) []byte {
	return notification(registry.EventSolutionFound, ts, `{"token_id":"`+tokenID+`","ticker":"TST","block_height":7,`+
		`"nonce":42,"hash":"000000ff","difficulty":1000,"reward":50,"decimals":8}`)
}

// rawRequest is an HTTP/1.1 request as a replica's outcall adapter sends it.
func rawRequest(addr string, header map[string]string, body []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "POST /miner-notifications HTTP/1.1\r\nHost: %s\r\nuser-agent: ic/1.0\r\n", addr)
	for k, v := range header {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", len(body))
	b.Write(body)
	return b.Bytes()
}

func jsonHeaders(extra ...string) map[string]string {
	h := map[string]string{"Content-Type": "application/json", "X-API-Key": testKey}
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i+1] == "" {
			delete(h, extra[i])
			continue
		}
		h[extra[i]] = extra[i+1]
	}
	return h
}

// send writes req on a new TCP connection and returns the exact bytes of the response.
func send(addr string, req []byte) ([]byte, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(patience))
	if _, err := c.Write(req); err != nil {
		return nil, err
	}
	return readResponse(bufio.NewReader(c))
}

// readResponse reads one response (headers and Content-Length body) without interpreting it.
func readResponse(r *bufio.Reader) ([]byte, error) {
	var raw bytes.Buffer
	length := 0
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return raw.Bytes(), fmt.Errorf("read response head: %w", err)
		}
		raw.WriteString(line)
		if line == "\r\n" {
			break
		}
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && strings.EqualFold(k, "Content-Length") {
			length, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	if _, err := io.CopyN(&raw, r, int64(length)); err != nil {
		return raw.Bytes(), fmt.Errorf("read response body: %w", err)
	}
	return raw.Bytes(), nil
}

// storm sends n copies of req concurrently, each after a random jitter of up to 20ms, copy i to
// addrs[i%len(addrs)], and returns the responses.
func storm(t *testing.T, addrs []string, reqFor func(addr string, i int) []byte, n int) [][]byte {
	t.Helper()
	out := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-time.After(time.Duration(rand.N(20_000)) * time.Microsecond) // replica jitter
			addr := addrs[i%len(addrs)]
			out[i], errs[i] = send(addr, reqFor(addr, i))
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

// checkIdentical fails unless every response is byte-identical, under 1024 bytes, without a
// Date header, and starts with wantStatus.
func checkIdentical(t *testing.T, resps [][]byte, wantStatus string) {
	t.Helper()
	for i, r := range resps {
		if !bytes.Equal(r, resps[0]) {
			t.Fatalf("copy %d differs:\n%q\nvs copy 0:\n%q", i, r, resps[0])
		}
	}
	r := resps[0]
	if len(r) >= 1024 {
		t.Errorf("response is %d bytes, want < 1024", len(r))
	}
	if bytes.Contains(bytes.ToLower(r), []byte("\r\ndate:")) {
		t.Errorf("response has a Date header:\n%s", r)
	}
	if !bytes.HasPrefix(r, []byte("HTTP/1.1 "+wantStatus+"\r\n")) {
		t.Errorf("got %q, want status %s", r, wantStatus)
	}
}

// wsClient connects to the shared hub and waits until the hub counts it.
func wsClient(t *testing.T, sh *shared) *websocket.Conn {
	t.Helper()
	before := sh.hub.Status().Clients
	c, _, err := websocket.DefaultDialer.DialContext(t.Context(), sh.hubURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	deadline := time.Now().Add(patience)
	for sh.hub.Status().Clients <= before {
		if time.Now().After(deadline) {
			t.Fatal("websocket client not registered")
		}
		<-time.After(time.Millisecond)
	}
	return c
}

// readUntil reads WebSocket events up to and including the first for which stop is true.
func readUntil(t *testing.T, c *websocket.Conn, stop func(registry.Event) bool) []registry.Event {
	t.Helper()
	var out []registry.Event
	_ = c.SetReadDeadline(time.Now().Add(patience))
	for {
		var e registry.Event
		if err := c.ReadJSON(&e); err != nil {
			t.Fatalf("read websocket (after %d events): %v", len(out), err)
		}
		out = append(out, e)
		if stop(e) {
			return out
		}
	}
}

// sentinel sends one distinct notification through addr; since every event travels the same
// bus connection path, a WebSocket client that has read the sentinel has read everything the
// test sent before it.
func sentinel(t *testing.T, addr string, ts uint64) {
	t.Helper()
	resp, err := send(addr, rawRequest(addr, jsonHeaders(), notification("sentinel", ts, `{}`)))
	if err != nil || !bytes.HasPrefix(resp, []byte("HTTP/1.1 200")) {
		t.Fatalf("sentinel: %q %v", resp, err)
	}
}

func isSentinel(e registry.Event) bool { return e.Event == "sentinel" }

func countEvents(evs []registry.Event, name string) int {
	n := 0
	for _, e := range evs {
		if e.Event == name {
			n++
		}
	}
	return n
}

// stored returns the newest notification of key after writing pending copy counts.
func stored(t *testing.T, inst *instance, key string) registry.Notification {
	t.Helper()
	if err := inst.intake.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	n, err := inst.store.NotificationByKey(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func rowCount(t *testing.T, st *store.Store) int64 {
	t.Helper()
	counts, err := st.Counts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range counts {
		if c.Table == "notifications" {
			return c.Rows
		}
	}
	t.Fatal("no notifications count")
	return 0
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
