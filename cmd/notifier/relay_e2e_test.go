package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"canistry/pkg/lifecycle/runtest"
	"canistry/pkg/relay/relaytest"
	"canistry/pkg/store/pgtest"
)

// The relay through the real notifier binaries (issue 22): two processes on one database,
// SQLite and PostgreSQL, in front of a local upstream that counts calls and answers with
// volatile headers and fields. Run with LOCAL_DEV (loopback upstreams); TestRelay_SSRF runs
// without it.

const (
	relayCaller = "relay-e2e-caller-key-0123"
	relaySecret = "sk_live_E2E_SECRET_never_logged"
)

// relayNode is a notifier process whose output (its JSON log) is kept.
type relayNode struct {
	*process
	out *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// relayEnv is the environment of the relay's notifiers: a routes file with route "api" to
// upstream (more fields in fields), the secrets in the environment.
func relayEnv(t *testing.T, databaseURL, upstream, fields string) map[string]string {
	t.Helper()
	env := notifierEnv(t.TempDir(), startNATS(t))
	if databaseURL != "" {
		env["DATABASE_URL"] = databaseURL
	}
	env["RELAY_ROUTES"] = filepath.Join(t.TempDir(), "routes.json")
	env["LOCAL_DEV"], env["RELAY_LEASE"] = "true", "2s"
	env["CALLER_KEY"], env["UPSTREAM_SECRET"] = relayCaller, relaySecret
	writeRoutes(t, env, relayRoutes(upstream, fields))
	return env
}

func relayRoutes(upstream, fields string, extra ...string) string {
	r := fmt.Sprintf(`{"name": "api", "upstream": %q, "methods": ["GET", "POST"], "api_keys": ["${CALLER_KEY}"],
		"inject_headers": {"Authorization": "Bearer ${UPSTREAM_SECRET}"}, "drop_json_fields": ["/created"]%s}`, upstream, fields)
	return `{"routes": [` + strings.Join(append([]string{r}, extra...), ", ") + `]}`
}

func writeRoutes(t *testing.T, env map[string]string, content string) {
	t.Helper()
	if err := os.WriteFile(env["RELAY_ROUTES"], []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func startRelayNode(t *testing.T, bin string, env map[string]string) *relayNode {
	t.Helper()
	cmd := exec.Command(bin, "-env-file", "")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd}
	t.Cleanup(func() { p.stop(t) })
	p.addr = servingAddr(t, env, cmd.Process.Pid)
	return &relayNode{process: p, out: out}
}

// kill9 kills the process as a crash would: no drain, no lease released.
func (n *relayNode) kill9(t *testing.T) {
	t.Helper()
	_ = n.cmd.Process.Signal(syscall.SIGKILL)
	_ = n.cmd.Wait()
}

func relayRequest(method, target, idemKey, body string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: relay\r\nuser-agent: ic/1.0\r\nX-API-Key: %s\r\n", method, target, relayCaller)
	if idemKey != "" {
		fmt.Fprintf(&b, "Idempotency-Key: %s\r\n", idemKey)
	}
	if body != "" {
		fmt.Fprintf(&b, "Content-Type: application/json\r\nContent-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n" + body)
	return []byte(b.String())
}

// relayStorm sends n concurrent copies of req, copy i to addrs[i%len(addrs)], each allowed d.
func relayStorm(t *testing.T, addrs []string, n int, d time.Duration, req []byte) [][]byte {
	t.Helper()
	out := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { out[i], errs[i] = sendWithin(d, addrs[i%len(addrs)], req) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("copy %d: %v", i, err)
		}
	}
	return out
}

func sameBytes(t *testing.T, replies [][]byte, status string) []byte {
	t.Helper()
	for i, r := range replies {
		if !bytes.Equal(r, replies[0]) {
			t.Fatalf("copy %d differs:\n%q\nvs\n%q", i, r, replies[0])
		}
	}
	if !bytes.HasPrefix(replies[0], []byte("HTTP/1.1 "+status+"\r\n")) || bytes.Contains(bytes.ToLower(replies[0]), []byte("\r\ndate:")) {
		t.Fatalf("reply %q: want status %s and no Date", replies[0], status)
	}
	return replies[0]
}

var relayBackends = []struct {
	name string
	url  func(t *testing.T) string
}{
	{"sqlite", func(*testing.T) string { return "" }},
	{"postgres", func(t *testing.T) string { return pgtest.New(t).Database(t) }},
}

// TestRelay_Storms: 34-copy storms across two notifiers call the upstream once each and give
// byte-identical replies; a slow upstream (20 s) has copies waiting on both notifiers. The
// secret injected upstream is in no reply and in no log line.
func TestRelay_Storms(t *testing.T) {
	bin := buildNotifier(t)
	for _, be := range relayBackends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			up := relaytest.New(false)
			t.Cleanup(up.Close)
			env := relayEnv(t, be.url(t), up.URL, "")
			a, b := startRelayNode(t, bin, env), startRelayNode(t, bin, env)
			addrs := []string{a.addr, b.addr}
			var replies []byte
			for _, tc := range []struct{ name, method, target, key, body, counted string }{
				{"post", "POST", "/relay/api/echo?x=1", "", `{"pay": 1}`, "POST /echo"},
				{"post with key", "POST", "/relay/api/echo?x=2", "pay-2", `{"pay": 2}`, "POST /echo"},
				{"get", "GET", "/relay/api/echo?x=3", "", "", "GET /echo"},
				{"slow", "POST", "/relay/api/slow?ms=20000", "slow-1", `{}`, "POST /slow"},
			} {
				before := up.Calls(tc.counted)
				r := sameBytes(t, relayStorm(t, addrs, 34, time.Minute, relayRequest(tc.method, tc.target, tc.key, tc.body)), "200 OK")
				if got := up.Calls(tc.counted) - before; got != 1 {
					t.Fatalf("%s: %d upstream calls, want 1", tc.name, got)
				}
				replies = append(replies, r...)
			}
			// Each notifier had copies of the slow call waiting: one calling, the other polling.
			for _, n := range []*relayNode{a, b} {
				m := metricsText(t, n.addr)
				if !strings.Contains(m, `canistry_relay_copies_total{how="waited_local"}`) &&
					!strings.Contains(m, `canistry_relay_copies_total{how="waited_remote"}`) {
					t.Errorf("notifier %s: no copies waited:\n%s", n.addr, grepLines(m, "canistry_relay_"))
				}
			}
			for _, h := range up.Headers() {
				if h.Get("Authorization") != "Bearer "+relaySecret || h.Get("X-Api-Key") != "" {
					t.Fatalf("upstream headers %v", h)
				}
			}
			a.stop(t)
			b.stop(t)
			for _, s := range []string{string(replies), a.out.String(), b.out.String()} {
				if strings.Contains(s, relaySecret) || strings.Contains(s, relayCaller) {
					t.Fatal("a secret reached a reply or a log")
				}
			}
		})
	}
}

func metricsText(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func grepLines(s, prefix string) string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestRelay_Crash: notifier a calls the upstream, which holds the call; copies wait on b;
// a is killed with SIGKILL. Once a's lease expires, the POST is never re-run: b's copies, and
// every later copy, get the one stored 502 upstream_outcome_unknown. A GET after the same
// crash is re-run by b, and all its copies get that call's reply.
func TestRelay_Crash(t *testing.T) {
	bin := buildNotifier(t)
	for _, be := range relayBackends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			for _, method := range []string{"POST", "GET"} {
				crash(t, bin, be.url(t), method)
			}
		})
	}
}

func crash(t *testing.T, bin, databaseURL, method string) {
	up := relaytest.New(false)
	t.Cleanup(up.Close)
	env := relayEnv(t, databaseURL, up.URL, "")
	a, b := startRelayNode(t, bin, env), startRelayNode(t, bin, env)
	body := ""
	if method == "POST" {
		body = `{"charge": 100}`
	}
	req := relayRequest(method, "/relay/api/hold", "crash-"+method, body)
	go func() { _, _ = sendWithin(time.Minute, a.addr, req) }() // a calls the upstream
	select {
	case <-up.Arrived():
	case <-time.After(patience):
		t.Fatal("the upstream never got the call")
	}
	waiting := make(chan []byte, 12)
	for range cap(waiting) {
		go func() {
			r, err := sendWithin(time.Minute, b.addr, req)
			if err != nil {
				r = []byte(err.Error())
			}
			waiting <- r
		}()
	}
	runtest.WaitFor(t, "b's copies waiting", func() bool {
		return strings.Contains(metricsText(t, b.addr), `canistry_relay_waits_total{where="remote"} 1`)
	})
	a.kill9(t)
	if method == "GET" {
		select { // b re-runs the GET once a's lease has expired
		case <-up.Arrived():
		case <-time.After(patience):
			t.Fatal("the GET was not re-run")
		}
		up.Release()
	}
	replies := make([][]byte, cap(waiting))
	for i := range replies {
		replies[i] = <-waiting
	}
	status, calls := "502 Bad Gateway", 1
	if method == "GET" {
		status, calls = "200 OK", 2
	}
	r := sameBytes(t, replies, status)
	if method == "POST" && !bytes.Contains(r, []byte(`"code":"upstream_outcome_unknown"`)) {
		t.Fatalf("POST after the crash: %q", r)
	}
	a2 := startRelayNode(t, bin, env) // a restarted: it finds the stored reply too
	later := relayStorm(t, []string{a2.addr, b.addr}, 8, time.Minute, req)
	if !bytes.Equal(sameBytes(t, later, status), r) {
		t.Fatalf("later copies differ from the first: %q", later[0])
	}
	if got := up.Calls(method + " /hold"); got != calls {
		t.Fatalf("%s: %d upstream calls, want %d", method, got, calls)
	}
}

// TestRelay_SIGHUP: SIGHUP reloads the routes file; a broken file is refused (logged with
// the route and field, not the secret) and the old routes stay.
func TestRelay_SIGHUP(t *testing.T) {
	bin := buildNotifier(t)
	up := relaytest.New(false)
	t.Cleanup(up.Close)
	env := relayEnv(t, "", up.URL, "")
	n := startRelayNode(t, bin, env)
	writeRoutes(t, env, relayRoutes(up.URL, `, "inject_headers": {"X-Token": "${NOT_SET_ANYWHERE}"}`))
	_ = n.cmd.Process.Signal(syscall.SIGHUP)
	runtest.WaitFor(t, "the broken file refused", func() bool { return strings.Contains(n.out.String(), "relay routes not reloaded") })
	if !strings.Contains(n.out.String(), `inject_headers[\"X-Token\"]: ${NOT_SET_ANYWHERE} is not set`) {
		t.Fatalf("the log does not name the route and field:\n%s", n.out.String())
	}
	if r, err := send(n.addr, relayRequest("GET", "/relay/api/echo", "", "")); err != nil || !bytes.HasPrefix(r, []byte("HTTP/1.1 200 ")) {
		t.Fatalf("the old route after a broken reload: %q %v", r, err)
	}
	writeRoutes(t, env, relayRoutes(up.URL, "", fmt.Sprintf(`{"name": "v2", "upstream": %q, "methods": ["GET"], "api_keys": ["${CALLER_KEY}"]}`, up.URL)))
	_ = n.cmd.Process.Signal(syscall.SIGHUP)
	runtest.WaitFor(t, "the new route served", func() bool {
		r, err := send(n.addr, relayRequest("GET", "/relay/v2/echo", "", ""))
		return err == nil && bytes.HasPrefix(r, []byte("HTTP/1.1 200 "))
	})
	n.stop(t)
	if strings.Contains(n.out.String(), relaySecret) {
		t.Fatal("the secret reached the log")
	}
}

// TestRelay_SSRF: without LOCAL_DEV, a route whose host name resolves to loopback is refused
// at dial time: one stored 502 upstream_forbidden, nothing reaches the upstream.
func TestRelay_SSRF(t *testing.T) {
	bin := buildNotifier(t)
	up := relaytest.New(false)
	t.Cleanup(up.Close)
	u, _ := url.Parse(up.URL)
	env := relayEnv(t, "", up.URL, "")
	env["LOCAL_DEV"] = "false"
	writeRoutes(t, env, relayRoutes("https://localhost:"+u.Port(), ""))
	n := startRelayNode(t, bin, env)
	r := sameBytes(t, relayStorm(t, []string{n.addr}, 4, patience, relayRequest("GET", "/relay/api/echo", "", "")), "502 Bad Gateway")
	if !bytes.Contains(r, []byte(`"code":"upstream_forbidden"`)) || up.Total() != 0 {
		t.Fatalf("reply %q, %d upstream calls", r, up.Total())
	}
}
