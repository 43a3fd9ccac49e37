package httpserver_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"canistry/pkg/httpserver"
	"canistry/pkg/lifecycle/runtest"
)

// patience bounds every wait of these tests; it is a failure deadline, never a measurement.
const patience = 20 * time.Second

// startServer serves h on a fresh loopback port and shuts it down at cleanup.
func startServer(t *testing.T, h http.Handler, tlsConfig *tls.Config, opts ...httpserver.ServeOption) *httpserver.Server {
	t.Helper()
	ln, err := httpserver.Listen(t.Context(), "127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	srv := httpserver.Serve(ln, h, tlsConfig, slog.New(slog.DiscardHandler), opts...)
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
func dialRaw(t *testing.T, srv *httpserver.Server, pool *x509.CertPool) net.Conn {
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
