package lifecycle_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"canistry/pkg/lifecycle"
	"canistry/pkg/lifecycle/runtest"
)

// patience bounds every wait of these tests; it is a failure deadline, never a measurement.
const patience = 20 * time.Second

// startServer serves h on a fresh loopback port and shuts it down at cleanup.
func startServer(t *testing.T, h http.Handler, tlsConfig *tls.Config, opts ...lifecycle.ServeOption) *lifecycle.Server {
	t.Helper()
	ln, err := lifecycle.Listen(t.Context(), "127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	srv := lifecycle.Serve(ln, h, tlsConfig, slog.New(slog.DiscardHandler), opts...)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return srv
}

// testCert returns a server TLS config (h2 and http/1.1) with a fresh self-signed certificate
// for 127.0.0.1, and a pool that trusts it.
func testCert(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	c := runtest.SelfSignedCert(t, "127.0.0.1")
	cfg := &tls.Config{
		Certificates: []tls.Certificate{c.TLS},
		NextProtos:   []string{"h2", "http/1.1"},
		MinVersion:   tls.VersionTLS12,
	}
	return cfg, c.Pool
}

// dialRaw opens a raw connection to srv, over TLS (HTTP/1.1 only) when pool is not nil.
func dialRaw(t *testing.T, srv *lifecycle.Server, pool *x509.CertPool) net.Conn {
	t.Helper()
	var c net.Conn
	var err error
	if pool != nil {
		c, err = tls.Dial("tcp", srv.Addr().String(), &tls.Config{RootCAs: pool, NextProtos: []string{"http/1.1"}})
	} else {
		c, err = net.Dial("tcp", srv.Addr().String())
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(patience))
	return c
}

// errorReply is the one JSON error shape.
type errorReply struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// readJSONError reads one reply from br and checks that it is a JSON error with a correct
// Content-Length; it returns the status and the error code.
func readJSONError(t *testing.T, br *bufio.Reader) (int, string) {
	t.Helper()
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("read reply: %v", err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	if got := res.Header.Get("Content-Length"); got != strconv.Itoa(len(body)) {
		t.Errorf("Content-Length %q, body has %d bytes", got, len(body))
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, body %q", ct, body)
	}
	var e errorReply
	if err := json.Unmarshal(body, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Errorf("body %q is not the JSON error shape (%v)", body, err)
	}
	return res.StatusCode, e.Error.Code
}

// expectClosed checks that nothing more arrives on br and that the server closed the
// connection.
func expectClosed(t *testing.T, br *bufio.Reader) {
	t.Helper()
	extra, err := io.ReadAll(br)
	if len(extra) > 0 {
		t.Errorf("bytes after the reply: %q", extra)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("connection still open after the reply")
	}
}
