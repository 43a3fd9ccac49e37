package httpserver_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"testing"
	"time"

	"canistry/pkg/httpserver"
)

func testTLSConfig(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "example.com"}, DNSNames: []string{"example.com"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"},
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}}}, pool
}

// TestSplitLoopbackPlain: one port, two servers: TLS (with HTTP/2) for everyone, plain HTTP for
// loopback peers; a loopback peer that sends nothing holds up no one; both stop cleanly.
func TestSplitLoopbackPlain(t *testing.T) {
	cfg, pool := testTLSConfig(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil {
			_, _ = io.WriteString(w, "tls "+r.Proto)
		} else {
			_, _ = io.WriteString(w, "plain "+r.Proto)
		}
	})
	tlsSide, plainSide := httpserver.SplitLoopbackPlain(ln)
	tlsSrv := httpserver.Serve(tlsSide, h, cfg, logger)
	plainSrv := httpserver.Serve(plainSide, h, nil, logger)
	addr := ln.Addr().String()

	silent, err := net.Dial("tcp", addr) // sends nothing: its sniff waits, nobody else does
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()

	get := func(c *http.Client, url string) string {
		t.Helper()
		resp, err := c.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	plain := &http.Client{Transport: &http.Transport{}}
	if got := get(plain, "http://"+addr+"/"); got != "plain HTTP/1.1" {
		t.Errorf("plain from loopback: %q", got)
	}
	secure := &http.Client{Transport: &http.Transport{ForceAttemptHTTP2: true,
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "example.com"}}}
	if got := get(secure, "https://"+addr+"/"); got != "tls HTTP/2.0" {
		t.Errorf("TLS from loopback: %q", got)
	}
	secure11 := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "example.com"}}}
	if got := get(secure11, "https://"+addr+"/"); got != "tls HTTP/1.1" {
		t.Errorf("TLS HTTP/1.1 from loopback: %q", got)
	}
	if tlsSide.Addr().String() != addr || plainSide.Addr().String() != addr {
		t.Errorf("sides listen on %s and %s, want %s", tlsSide.Addr(), plainSide.Addr(), addr)
	}
	plain.CloseIdleConnections()
	secure.CloseIdleConnections()
	secure11.CloseIdleConnections()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tlsSrv.Shutdown(ctx); err != nil {
		t.Errorf("tls shutdown: %v", err)
	}
	if err := plainSrv.Shutdown(ctx); err != nil {
		t.Errorf("plain shutdown: %v", err)
	}
	for _, s := range []*httpserver.Server{tlsSrv, plainSrv} {
		if err := <-s.Done(); err != nil {
			t.Errorf("serve: %v", err)
		}
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Error("the port still accepts after shutdown")
	}
}
