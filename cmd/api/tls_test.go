package main

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"canistry/pkg/lifecycle"
	"canistry/pkg/lifecycle/runtest"
)

// writeCert writes a self-signed certificate for localhost, 127.0.0.1 and ::1 and returns the
// paths and a pool that trusts it.
func writeCert(t *testing.T) (certPath, keyPath string, pool *x509.CertPool) {
	t.Helper()
	c := runtest.SelfSignedCert(t, "localhost", "127.0.0.1", "::1")
	dir := t.TempDir()
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certPath, c.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, c.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return certPath, keyPath, c.Pool
}

func TestRun_HTTPS(t *testing.T) {
	host := "127.0.0.1"
	if hasIPv6Loopback() {
		host = "[::1]"
	}
	certPath, keyPath, pool := writeCert(t)
	env := baseEnv(t)
	env["USE_HTTPS"], env["LOCAL_DEV"] = "true", "true"
	env["SSL_CERT_PATH"], env["SSL_KEY_PATH"] = certPath, keyPath
	p := runtest.Start(t, run, env)

	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2: true,
	}}
	resp, err := client.Get("https://" + host + ":" + p.Port() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
		t.Errorf("GET /healthz over TLS = %d %s, want 200 over HTTP/2", resp.StatusCode, resp.Proto)
	}
	// The served certificate's expiry is exported for the CertificateExpiring alert.
	text := runtest.MetricsTextVia(t, client, "https://"+host+":"+p.Port())
	if got, want := runtest.SeriesValue(t, text, "canistry_tls_certificate_not_after_timestamp_seconds"), runtest.CertNotAfter(t, certPath); got != float64(want.Unix()) {
		t.Errorf("canistry_tls_certificate_not_after_timestamp_seconds = %v, want %d (%s)", got, want.Unix(), want)
	}
	// Plain HTTP on the TLS port is not served.
	if resp, err := http.Get("http://" + host + ":" + p.Port() + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP answered 200 on the HTTPS port")
		}
	}
	if err := p.Stop(t); err != nil {
		t.Fatal(err)
	}
}

func TestRun_HTTPS_ErrMissingCertificate(t *testing.T) {
	env := baseEnv(t)
	env["USE_HTTPS"] = "true"
	env["SSL_CERT_PATH"], env["SSL_KEY_PATH"] = filepath.Join(t.TempDir(), "none.pem"), filepath.Join(t.TempDir(), "none.key")
	err := run(t.Context(), []string{"-env-file", ""}, func(k string) string { return env[k] }, &strings.Builder{}, lifecycle.Options{})
	if err == nil || !strings.Contains(err.Error(), "USE_HTTPS") {
		t.Fatalf("run = %v, want an error about the certificate", err)
	}
}
