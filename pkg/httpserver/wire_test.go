package httpserver_test

import (
	"bufio"
	"crypto/x509"
	"io"
	"net/http"
	"strings"
	"testing"

	"canistry/pkg/httpserver"
	"canistry/pkg/lifecycle/runtest"
)

// okHandler reads the whole body and answers 200 with a small JSON body.
var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if _, err := io.ReadAll(r.Body); err != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		_, _ = io.WriteString(w, `{"error":{"code":"too_large","message":"body"}}`)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = io.WriteString(w, `{"ok":true}`)
})

// malformed are the classes of malformed requests, each with the status and error code the
// server must answer (always the JSON error shape, always a 4xx, connection closed).
var malformed = []struct {
	name, req string
	status    int
	code      string
}{
	{"BadRequestLine", "GARBAGE\r\n\r\n", 400, "invalid"},
	{"RequestLineTooFewParts", "GET /\r\nHost: x\r\n\r\n", 400, "invalid"},
	{"InvalidMethod", "G@T / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "invalid"},
	{"BadVersion", "GET / HTTP/9.9\r\nHost: x\r\n\r\n", 400, "invalid"},
	{"LowercaseVersion", "GET / http/1.1\r\nHost: x\r\n\r\n", 400, "invalid"},
	{"HeaderWithoutColon", "GET / HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n", 400, "invalid"},
	{"InvalidHeaderName", "GET / HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n", 400, "invalid"},
	{"ControlCharInHeaderValue", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", 400, "invalid"},
	{"MissingHost", "GET / HTTP/1.1\r\n\r\n", 400, "invalid"},
	{"MalformedHost", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400, "invalid"},
	{"TwoHosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "invalid"},
	{"HeaderTooLarge", "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 80<<10) + "\r\n\r\n", 431, "too_large"},
	{"UnsupportedTransferEncoding", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 400, "invalid"},
	{"IdentityTransferEncoding", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n", 400, "invalid"},
	{"TwoContentLengthsDiffering", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400, "invalid"},
	{"NonNumericContentLength", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400, "invalid"},
	{"NegativeContentLength", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400, "invalid"},
	{"ContentLengthAndTransferEncoding", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, "invalid"},
	{"HTTP2PriorKnowledgeOnHTTP1", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400, "invalid"},
	{"NULInRequestLine", "GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "invalid"},
	{"BadAbsoluteURI", "GET ://nohost HTTP/1.1\r\nHost: x\r\n\r\n", 400, "invalid"},
	{"UnknownExpect", "POST / HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\nContent-Length: 1\r\n\r\na", 417, "invalid"},
	{"DeclaredBodyTooLarge", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000000\r\n\r\nabc", 413, "too_large"},
	{"ChunkedBodyTooLarge", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n" + strings.Repeat("a", 2048) + "\r\n0\r\n\r\n", 413, "too_large"},
}

func TestWire_MalformedRequests(t *testing.T) {
	plain := startServer(t, okHandler, nil, httpserver.WithMaxBodyBytes(1024))
	tlsCfg, pool := testCert(t)
	secure := startServer(t, okHandler, tlsCfg, httpserver.WithMaxBodyBytes(1024))
	for _, tc := range malformed {
		for _, mode := range []struct {
			name string
			pool *x509.CertPool
		}{{"TCP", nil}, {"TLS", pool}} {
			t.Run(tc.name+"/"+mode.name, func(t *testing.T) {
				srv := plain
				if mode.pool != nil {
					srv = secure
				}
				c := dialRaw(t, srv, mode.pool)
				if _, err := io.WriteString(c, tc.req); err != nil {
					t.Fatal(err)
				}
				br := bufio.NewReader(c)
				status, code := runtest.ReadJSONError(t, br)
				if status != tc.status || code != tc.code {
					t.Errorf("got %d %s, want %d %s", status, code, tc.status, tc.code)
				}
				runtest.ExpectClosed(t, br)
			})
		}
	}
}

// accepted are edge cases that net/http reads unambiguously (RFC 9112 allows them), so they
// reach the handler.
var accepted = []struct{ name, req string }{
	{"ObsFold", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n"},
	{"BareLF", "GET / HTTP/1.1\nHost: x\n\n"},
	{"AbsoluteURI", "GET http://other.example/ HTTP/1.1\r\nHost: x\r\n\r\n"},
	{"HTTP10WithoutHost", "GET / HTTP/1.0\r\n\r\n"},
	{"ChunkedWithinLimit", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"},
}

func TestWire_AcceptedEdgeCases(t *testing.T) {
	srv := startServer(t, okHandler, nil, httpserver.WithMaxBodyBytes(1024))
	for _, tc := range accepted {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, srv, nil)
			if _, err := io.WriteString(c, tc.req); err != nil {
				t.Fatal(err)
			}
			res, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != http.StatusOK || string(body) != `{"ok":true}` {
				t.Errorf("got %d %q, want 200 from the handler", res.StatusCode, body)
			}
		})
	}
}

// TestWire_Smuggling sends a request with both Content-Length and Transfer-Encoding and a
// second request hidden behind it: exactly one reply (400 JSON), then the connection closes,
// whichever framing a proxy in front would have believed.
func TestWire_Smuggling(t *testing.T) {
	srv := startServer(t, okHandler, nil)
	smuggled := "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
	cases := []struct{ name, req string }{
		{"CLThenTE", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled},
		{"TEThenCL", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n0\r\n\r\n" + smuggled},
		{"LowercaseNames", "POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, srv, nil)
			if _, err := io.WriteString(c, tc.req); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(c)
			if status, code := runtest.ReadJSONError(t, br); status != http.StatusBadRequest || code != "invalid" {
				t.Errorf("got %d %s, want 400 invalid", status, code)
			}
			runtest.ExpectClosed(t, br)
		})
	}
	t.Run("AfterKeepAliveRequest", func(t *testing.T) {
		c := dialRaw(t, srv, nil)
		first := "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 30\r\n\r\nTransfer-Encoding: chunked\r\n\r\n"
		if _, err := io.WriteString(c, first+cases[0].req); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(c)
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("first request: %d, want 200", res.StatusCode)
		}
		if status, _ := runtest.ReadJSONError(t, br); status != http.StatusBadRequest {
			t.Errorf("second request: %d, want 400", status)
		}
		runtest.ExpectClosed(t, br)
	})
}

// TestWire_TLS checks what terminating TLS ahead of net/http must keep: handlers see
// Request.TLS over HTTP/1.1 and h2, and plain HTTP sent to the TLS port gets the JSON error.
func TestWire_TLS(t *testing.T) {
	cfg, pool := testCert(t)
	srv := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || !r.TLS.HandshakeComplete {
			w.WriteHeader(http.StatusInternalServerError)
		}
		_, _ = io.WriteString(w, r.Proto)
	}), cfg)
	t.Run("HTTP1", func(t *testing.T) {
		c := dialRaw(t, srv, pool)
		_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		if body, _ := io.ReadAll(res.Body); res.StatusCode != http.StatusOK || string(body) != "HTTP/1.1" {
			t.Errorf("got %d %q, want 200 HTTP/1.1 with Request.TLS set", res.StatusCode, body)
		}
	})
	t.Run("HTTP2", func(t *testing.T) {
		client := h2Client(pool)
		defer client.CloseIdleConnections()
		res, err := client.Get("https://" + srv.Addr().String() + "/")
		if err != nil {
			t.Fatal(err)
		}
		if body, _ := io.ReadAll(res.Body); res.StatusCode != http.StatusOK || string(body) != "HTTP/2.0" {
			t.Errorf("got %d %q, want 200 HTTP/2.0 with Request.TLS set", res.StatusCode, body)
		}
	})
	t.Run("PlainHTTP", func(t *testing.T) {
		c := dialRaw(t, srv, nil)
		_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		br := bufio.NewReader(c)
		if status, code := runtest.ReadJSONError(t, br); status != http.StatusBadRequest || code != "invalid" {
			t.Errorf("got %d %s, want 400 invalid", status, code)
		}
		runtest.ExpectClosed(t, br)
	})
}
