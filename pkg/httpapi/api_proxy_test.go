package httpapi_test

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// fakeNotifier mimics the notifier's replies: an outcall reply without Date (as the notifier
// writes it, so that every replica gets identical bytes), a reply with no Content-Type at all,
// a WebSocket echo, and the /test page with an asset.
type apiFakeNotifier struct {
	*httptest.Server
	mu       sync.Mutex
	lastHost string
	lastXFF  string
}

const apiOutcallReply = `{"status":"ok","event":"solution_found","miner_id":"rrkah-fqaaa-aaaaa-aaaaq-cai"}`

func newAPIFakeNotifier(t *testing.T) *apiFakeNotifier {
	t.Helper()
	f := &apiFakeNotifier{}
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /miner-notifications", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.lastHost, f.lastXFF = r.Host, r.Header.Get("X-Forwarded-For")
		f.mu.Unlock()
		_, _ = io.Copy(io.Discard, r.Body)
		h := w.Header()
		h["Date"] = nil
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", strconv.Itoa(len(apiOutcallReply)))
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, apiOutcallReply)
	})
	mux.HandleFunc("GET /ws-status", func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Date"] = nil
		_, _ = io.WriteString(w, `{"clients":0}`) // no Content-Type: the server must not sniff one in
	})
	mux.HandleFunc("GET /test", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, "<html>test page</html>")
	})
	mux.HandleFunc("GET /test/app.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		_, _ = io.WriteString(w, "console.log(1)")
	})
	mux.HandleFunc("GET /ws/client.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		_, _ = io.WriteString(w, "export function connect() {}")
	})
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.lastHost = r.Host
		f.mu.Unlock()
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			mt, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			if err := c.WriteMessage(mt, msg); err != nil {
				return
			}
		}
	})
	f.Server = httptest.NewServer(mux)
	t.Cleanup(f.Close)
	return f
}

// rawExchange sends raw bytes on a new TCP connection and returns everything the server
// answers until it closes the connection.
func apiRawExchange(t *testing.T, addr, request string) []byte {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, request); err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func apiHost(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

func TestAPI_Proxy_ByteIdentical(t *testing.T) {
	f := newAPIFakeNotifier(t)
	a := newTestAPI(t, apiOptions{adminKey: testAdminKey, notifierURL: apiParseURL(t, f.URL)})
	body := `{"event":"solution_found","miner_id":"rrkah-fqaaa-aaaaa-aaaaq-cai","timestamp":1,"data":{}}`
	for _, tt := range []struct{ name, request string }{
		{"Outcall", "POST /miner-notifications HTTP/1.1\r\nHost: outcalls.example\r\nContent-Type: application/json\r\nX-API-Key: k\r\n" +
			"Content-Length: " + strconv.Itoa(len(body)) + "\r\nConnection: close\r\n\r\n" + body},
		{"NoContentType", "GET /ws-status HTTP/1.1\r\nHost: outcalls.example\r\nConnection: close\r\n\r\n"},
		{"Gzip", "POST /miner-notifications HTTP/1.1\r\nHost: outcalls.example\r\nAccept-Encoding: gzip\r\n" +
			"Content-Length: " + strconv.Itoa(len(body)) + "\r\nConnection: close\r\n\r\n" + body},
	} {
		t.Run(tt.name, func(t *testing.T) {
			direct := apiRawExchange(t, apiHost(t, f.URL), tt.request)
			proxied := apiRawExchange(t, apiHost(t, a.URL), tt.request)
			if !bytes.Equal(direct, proxied) {
				t.Fatalf("proxied reply differs from the notifier's:\n--- direct\n%q\n--- proxied\n%q", direct, proxied)
			}
			if bytes.Contains(bytes.ToLower(proxied), []byte("\r\ndate:")) {
				t.Fatalf("a Date header was added: %q", proxied)
			}
		})
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lastHost != "outcalls.example" || f.lastXFF != "127.0.0.1" {
		t.Fatalf("notifier saw Host %q, X-Forwarded-For %q", f.lastHost, f.lastXFF)
	}
}

func TestAPI_Proxy_Routes(t *testing.T) {
	f := newAPIFakeNotifier(t)
	a := newTestAPI(t, apiOptions{adminKey: testAdminKey, notifierURL: apiParseURL(t, f.URL)})
	for path, want := range map[string]string{"/test": "<html>test page</html>", "/test/app.js": "console.log(1)",
		"/ws/client.js": "export function connect() {}"} {
		r := a.do("GET", path, nil, "Origin", "https://example.org")
		if r.Status != 200 || string(r.Body) != want {
			t.Errorf("GET %s: %d %q", path, r.Status, r.Body)
		}
		for _, h := range []string{"Access-Control-Allow-Origin", "X-Request-Id"} {
			if r.Header.Get(h) != "" {
				t.Errorf("GET %s: the proxy added %s", path, h)
			}
		}
	}
}

func TestAPI_Proxy_WebSocket(t *testing.T) {
	f := newAPIFakeNotifier(t)
	a := newTestAPI(t, apiOptions{adminKey: testAdminKey, notifierURL: apiParseURL(t, f.URL)})
	wsURL := "ws" + strings.TrimPrefix(a.URL, "http") + "/ws?since=0"
	c, res, err := websocket.DefaultDialer.DialContext(t.Context(), wsURL, http.Header{"Origin": {a.URL}})
	if err != nil {
		t.Fatalf("dial through the proxy: %v", err)
	}
	defer c.Close()
	if res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d", res.StatusCode)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for _, msg := range []string{"hello", strings.Repeat("x", 70000)} {
		if err := c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		_, got, err := c.ReadMessage()
		if err != nil || string(got) != msg {
			t.Fatalf("echo: %d bytes, %v", len(got), err)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lastHost != apiHost(t, a.URL) {
		t.Fatalf("notifier saw Host %q, want the api's %q (for its same-origin check)", f.lastHost, apiHost(t, a.URL))
	}
}

func TestAPI_Proxy_NotifierDown(t *testing.T) {
	a := newTestAPI(t, apiOptions{adminKey: testAdminKey, notifierURL: downNotifierURL(t)})
	for _, path := range []string{"/ws", "/ws-status", "/test", "/miner-notifications", "/ws/client.js", "/ws/client.d.ts"} {
		method := "GET"
		if path == "/miner-notifications" {
			method = "POST"
		}
		r := a.do(method, path, `{}`)
		if r.Status != http.StatusBadGateway || r.ErrorCode(t) != "unavailable" {
			t.Errorf("%s %s: %d %s", method, path, r.Status, r.Body)
		}
	}
}

// downNotifierURL is the URL of a notifier that is not there: a port that was free a moment ago.
func downNotifierURL(t *testing.T) *url.URL {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return apiParseURL(t, "http://"+ln.Addr().String())
}

func apiParseURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestAPI_Proxy_RetriesOutcallCopies: a notifier that closes the connection before replying (as
// a draining notifier closes its idle keep-alive connections) makes the proxy retry an outcall
// copy on a new connection, with the same body, a bounded number of times (then 502).
func TestAPI_Proxy_RetriesOutcallCopies(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	drops := map[string]int{"/miner-notifications": 2} // connections closed before a reply
	notifier := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		drop := drops[r.URL.Path] > 0
		drops[r.URL.Path]--
		if r.URL.Path == "/miner-notifications" {
			bodies = append(bodies, string(b))
		}
		mu.Unlock()
		if drop {
			c, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				_ = c.Close()
			}
			return
		}
		w.Header()["Date"] = nil
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"received","dedup_key_sha256":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}`))
	}))
	t.Cleanup(notifier.Close)
	a := newTestAPI(t, apiOptions{adminKey: testAdminKey, notifierURL: apiParseURL(t, notifier.URL)})
	if r := a.do("POST", "/miner-notifications", `{"event":"e"}`); r.Status != http.StatusOK || string(r.Body) != `{"status":"received","dedup_key_sha256":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}` {
		t.Errorf("outcall copy after two dropped attempts: %d %s", r.Status, r.Body)
	}
	mu.Lock()
	if len(bodies) != 3 || bodies[0] != `{"event":"e"}` || bodies[2] != bodies[0] {
		t.Errorf("notifier saw bodies %q, want the same body three times", bodies)
	}
	mu.Unlock()
	mu.Lock()
	drops["/miner-notifications"] = 100
	mu.Unlock()
	if r := a.do("POST", "/miner-notifications", `{"event":"e"}`); r.Status != http.StatusBadGateway || r.ErrorCode(t) != "unavailable" {
		t.Errorf("outcall copy to a notifier that always drops: %d %s, want 502 after the retries", r.Status, r.Body)
	}
	mu.Lock()
	if n := len(bodies); n > 3+4 {
		t.Errorf("notifier saw %d attempts in all, want the retries bounded", n)
	}
	mu.Unlock()
}
