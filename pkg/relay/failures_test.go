package relay_test

import (
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"

	"canistry/pkg/httperror"
	"canistry/pkg/registry"
)

// TestFailures: every failure class is one stored, deterministic JSON error for its key:
// 16 copies over two relays get the same bytes, the upstream is called at most once, and a
// later copy of the key gets the stored reply again without a call.
func TestFailures(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0") // a port nobody answers on
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	_ = ln.Close()
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			f := newFixture(t, be.target(t), fixtureOpts{relays: 2, localDev: true,
				fields: `, "timeout": "300ms", "max_response_bytes": 2000`,
				extra:  []string{fmt.Sprintf(`{"name": "down", "upstream": %q, "methods": ["POST"], "api_keys": [%q]}`, closed, callerKey)}})
			tlsUp := newFixture(t, be.target(t), fixtureOpts{localDev: true, tls: true})
			for _, tc := range []struct {
				name, addr, target, upstream, status, code string
				calls                                      int
			}{
				{"connect", "", "/relay/down/x", "", "502 Bad Gateway", registry.EUpstreamUnreachable, 0},
				{"timeout", "", "/relay/api/slow?ms=5000", "POST /slow", "504 Gateway Timeout", registry.EUpstreamTimeout, 1},
				{"tls", tlsUp.addrs[0], "/relay/api/echo", "", "502 Bad Gateway", registry.EUpstreamTLS, 0},
				{"redirect", "", "/relay/api/redirect", "POST /redirect", "502 Bad Gateway", registry.EUpstreamRedirect, 1},
				{"oversize", "", "/relay/api/big?n=5000", "POST /big", "502 Bad Gateway", registry.EUpstreamTooLarge, 1},
			} {
				addrs := f.addrs
				if tc.addr != "" {
					addrs = []string{tc.addr}
				}
				req := request("POST", tc.target, map[string]string{"Idempotency-Key": "fail-" + tc.name}, `{}`)
				reply := identical(t, storm(t, addrs, 16, req), tc.status)
				if again := send(t, addrs[0], req); string(again) != string(reply) {
					t.Fatalf("%s: a later copy got %q, want the stored %q", tc.name, again, reply)
				}
				var e httperror.Body
				if err := json.Unmarshal([]byte(body(reply)), &e); err != nil || e.Error.Code != tc.code ||
					!strings.Contains(e.Error.Message, "retry with a new Idempotency-Key") {
					t.Fatalf("%s: reply %q, want code %s", tc.name, reply, tc.code)
				}
				if tc.upstream != "" {
					if got := f.up.Calls(tc.upstream); got != tc.calls {
						t.Fatalf("%s: %d upstream calls, want %d", tc.name, got, tc.calls)
					}
				}
				if tc.name == "tls" && tlsUp.up.Total() != 0 {
					t.Fatalf("tls: the untrusted upstream got %d requests", tlsUp.up.Total())
				}
			}
		})
	}
}

// TestRejections: every rejection is deterministic, in the one error shape, and calls nothing.
func TestRejections(t *testing.T) {
	f := newFixture(t, backends[0].target(t), fixtureOpts{relays: 2, localDev: true, fields: `, "max_request_bytes": 16`, rate: 0.001})
	noKey := []byte("GET /relay/api/echo HTTP/1.1\r\nHost: relay\r\n\r\n")
	twoKeys := []byte("GET /relay/api/echo HTTP/1.1\r\nHost: relay\r\nX-API-Key: " + callerKey + "\r\nX-API-Key: " + callerKey + "\r\n\r\n")
	wrongKey := []byte("GET /relay/api/echo HTTP/1.1\r\nHost: relay\r\nX-API-Key: wrong\r\n\r\n")
	noType := []byte("POST /relay/api/echo HTTP/1.1\r\nHost: relay\r\nX-API-Key: " + callerKey + "\r\nContent-Length: 2\r\n\r\n{}")
	for _, tc := range []struct {
		name   string
		req    []byte
		status string
		code   string
	}{
		{"no key", noKey, "401 Unauthorized", registry.EUNAUTHORIZED},
		{"two keys", twoKeys, "401 Unauthorized", registry.EUNAUTHORIZED},
		{"wrong key", wrongKey, "401 Unauthorized", registry.EUNAUTHORIZED},
		{"unknown route", request("GET", "/relay/nope/echo", nil, ""), "404 Not Found", registry.ENOTFOUND},
		{"method", request("PATCH", "/relay/api/echo", nil, `{}`), "405 Method Not Allowed", registry.EINVALID},
		{"too large", request("POST", "/relay/api/echo", nil, `{"far": "more than sixteen bytes"}`), "413 Request Entity Too Large", registry.ETOOLARGE},
		{"no content type", noType, "415 Unsupported Media Type", registry.EUNSUPPORTED},
		{"bad idempotency key", request("POST", "/relay/api/echo", map[string]string{"Idempotency-Key": "a b"}, `{}`), "400 Bad Request", registry.EINVALID},
	} {
		reply := identical(t, storm(t, f.addrs, 6, tc.req), tc.status)
		var e httperror.Body
		if err := json.Unmarshal([]byte(body(reply)), &e); err != nil || e.Error.Code != tc.code {
			t.Fatalf("%s: %q, want code %s", tc.name, reply, tc.code)
		}
	}
	if strings.Contains(string(send(t, f.addrs[0], request("PATCH", "/relay/api/echo", nil, `{}`))), "Allow: GET, HEAD, POST, PUT, DELETE\r\n") == false {
		t.Fatal("405 without Allow")
	}
	// Rate limit (each notifier process has its own buckets, as the intake's): one new call
	// a ~17 minutes with a burst of 1. The first key is called; a second key is refused with
	// one stored 429 for all its copies, on both relays; the first key's copies still get its
	// reply.
	first := request("POST", "/relay/api/echo", map[string]string{"Idempotency-Key": "rl-1"}, `{}`)
	ok := identical(t, storm(t, f.addrs[:1], 8, first), "200 OK")
	second := request("POST", "/relay/api/echo", map[string]string{"Idempotency-Key": "rl-2"}, `{}`)
	tooMany := identical(t, storm(t, f.addrs[:1], 8, second), "429 Too Many Requests")
	if again := send(t, f.addrs[1], second); string(again) != string(tooMany) {
		t.Fatalf("the other relay answered a refused key %q", again)
	}
	if again := send(t, f.addrs[1], first); string(again) != string(ok) {
		t.Fatalf("a stored key's copy was limited: %q", again)
	}
	if n := f.up.Total(); n != 1 {
		t.Fatalf("%d upstream calls, want 1", n)
	}
}

// TestPathClimbing: a path that climbs above the route's base, or hides a slash, is refused
// (400) and never reaches the upstream; ordinary escapes pass through as they are.
func TestPathClimbing(t *testing.T) {
	f := newFixture(t, backends[0].target(t), fixtureOpts{localDev: true})
	for _, p := range []string{"/relay/api/../x", "/relay/api/a/../../x", "/relay/api/%2e%2e/x", "/relay/api/a/%2E%2e",
		"/relay/api/a%2Fb", "/relay/api/a%2fb", "/relay/api/a%5Cb", "/relay/api/a\\b", "/relay/api/./x", "/relay/api/%00"} {
		reply := send(t, f.addrs[0], request("GET", p, nil, ""))
		if !strings.HasPrefix(string(reply), "HTTP/1.1 400 ") || !strings.Contains(string(reply), `"code":"invalid"`) {
			t.Errorf("%s: %q, want 400 invalid", p, reply)
		}
	}
	if n := f.up.Total(); n != 0 {
		t.Fatalf("the upstream got %d calls from climbing paths", n)
	}
	reply := send(t, f.addrs[0], request("GET", "/relay/api/echo/a%20b?q=%2F", nil, ""))
	if !strings.Contains(body(reply), `"path":"/echo/a%20b"`) || !strings.Contains(body(reply), `"query":"q=%2F"`) {
		t.Fatalf("escaped path: %q", reply)
	}
}
