package relay_test

import (
	"bufio"
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"canistry/pkg/lifecycle/runtest"
	"canistry/pkg/relay"
	"canistry/pkg/relay/relaytest"
	"canistry/pkg/store"
	"canistry/pkg/store/pgtest"
)

const (
	callerKey = "relay-caller-key-0123456789"
	secret    = "sk_live_SECRET_never_shown_42"
	patience  = 30 * time.Second
)

// backends are the two databases every relay test runs on: a target for store.Open.
var backends = []struct {
	name   string
	target func(t testing.TB) string
}{
	{"sqlite", func(t testing.TB) string { return filepath.Join(t.TempDir(), "registry.db") }},
	{"postgres", func(t testing.TB) string { return pgtest.New(t).Database(t) }},
}

// fixture is n relays (as n notifier processes: each with its own store connection) over
// one database, each served by its own HTTP server, in front of one counting upstream.
type fixture struct {
	up     *relaytest.Upstream
	file   string
	env    map[string]string
	relays []*relay.Relay
	addrs  []string
	logs   *syncBuffer
	opts   fixtureOpts
	target string
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// routeFile is a routes file with one route "api" to upstream (and extra routes' JSON).
func routeFile(upstream, fields string, extra ...string) string {
	r := fmt.Sprintf(`{"name": "api", "upstream": %q, "methods": ["GET", "HEAD", "POST", "PUT", "DELETE"],
		"api_keys": ["${CALLER_KEY}"], "inject_headers": {"Authorization": "Bearer ${UPSTREAM_SECRET}"}%s}`, upstream, fields)
	return `{"routes": [` + strings.Join(append([]string{r}, extra...), ",") + `]}`
}

type fixtureOpts struct {
	relays   int
	fields   string // more fields of route "api"
	localDev bool
	tls      bool
	lease    time.Duration
	now      func() time.Time
	extra    []string // more routes' JSON
	rate     float64  // new calls a second per caller and route; 0: 1000 (burst 1000)
	burst    int      // with rate: the burst (0: 1)
}

func newFixture(t testing.TB, target string, o fixtureOpts) *fixture {
	t.Helper()
	f := &fixture{up: relaytest.New(o.tls), logs: &syncBuffer{}}
	t.Cleanup(f.up.Close)
	f.file = filepath.Join(t.TempDir(), "routes.json")
	f.env = map[string]string{"CALLER_KEY": callerKey, "UPSTREAM_SECRET": secret}
	if o.localDev {
		f.env["LOCAL_DEV"] = "true"
	}
	f.writeRoutes(t, routeFile(f.up.URL, o.fields, o.extra...))
	f.opts, f.target = o, target
	return newFixtureOn(t, f, o.localDev)
}

// newFixtureOn starts f's relays (f.opts.relays of them) on f's routes file.
func newFixtureOn(t testing.TB, f *fixture, localDev bool) *fixture {
	t.Helper()
	o := f.opts
	f.relays, f.addrs = nil, nil
	limit, burst := rate.Limit(1000), 1000
	if o.rate > 0 {
		limit, burst = rate.Limit(o.rate), max(o.burst, 1)
	}
	for range max(o.relays, 1) {
		st, err := store.Open(t.Context(), f.target)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		rl, err := relay.New(relay.Config{Store: st, Path: f.file, Getenv: func(k string) string { return f.env[k] },
			Window: 5 * time.Minute, Lease: o.lease, LocalDev: localDev, Logger: slog.New(slog.NewJSONHandler(f.logs, nil)),
			Now: o.now, RateLimit: limit, RateBurst: burst})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = rl.Close(t.Context()) })
		srv := httptest.NewServer(rl)
		t.Cleanup(srv.Close)
		f.relays = append(f.relays, rl)
		f.addrs = append(f.addrs, srv.Listener.Addr().String())
	}
	return f
}

func (f *fixture) writeRoutes(t testing.TB, content string) {
	t.Helper()
	if err := os.WriteFile(f.file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// request is a raw HTTP/1.1 request to the relay.
func request(method, target string, headers map[string]string, body string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: relay\r\nX-API-Key: %s\r\n", method, target, callerKey)
	for k, v := range headers {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	if body != "" {
		fmt.Fprintf(&b, "Content-Type: application/json\r\nContent-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n" + body)
	return []byte(b.String())
}

// send writes req on a new connection and returns the exact reply bytes.
func send(t *testing.T, addr string, req []byte) []byte {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(patience))
	r := bufio.NewReader(c)
	if bytes.HasPrefix(req, []byte("HEAD ")) {
		_, _ = c.Write(req)
		var raw bytes.Buffer
		for {
			line, err := r.ReadString('\n')
			raw.WriteString(line)
			if err != nil || line == "\r\n" {
				return raw.Bytes()
			}
		}
	}
	out, err := runtest.RoundTrip(c, r, req)
	if err != nil {
		t.Fatalf("round trip: %v", err)
	}
	return out
}

// storm sends n concurrent copies of req, copy i to addrs[i%len(addrs)], and returns the replies.
func storm(t *testing.T, addrs []string, n int, req []byte) [][]byte {
	t.Helper()
	out := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { out[i] = send(t, addrs[i%len(addrs)], req) })
	}
	wg.Wait()
	return out
}

// identical fails unless every reply has the same bytes and starts with status; it returns the one reply.
func identical(t *testing.T, replies [][]byte, status string) []byte {
	t.Helper()
	for i, r := range replies {
		if !bytes.Equal(r, replies[0]) {
			t.Fatalf("reply %d differs:\n%s\nfirst:\n%s", i, r, replies[0])
		}
	}
	if !bytes.HasPrefix(replies[0], []byte("HTTP/1.1 "+status+"\r\n")) {
		t.Fatalf("reply %q, want status %s", replies[0], status)
	}
	if bytes.Contains(replies[0], []byte("Date:")) {
		t.Fatalf("reply has a Date header: %q", replies[0])
	}
	return replies[0]
}

// body returns the body of a raw reply.
func body(reply []byte) string {
	_, b, _ := bytes.Cut(reply, []byte("\r\n\r\n"))
	return string(b)
}
