package tlsconfig_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"canistry/pkg/tlsconfig"
)

func TestReloader_ServeHTTP2OnIPv6Loopback(t *testing.T) {
	dir := t.TempDir()
	pair := newPair(t, "one", nil)
	pair.write(t, dir)
	r, err := tlsconfig.New(tlsconfig.Options{CertPath: certPath(dir), KeyPath: keyPath(dir)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, r)

	pool := x509.NewCertPool()
	pool.AddCert(pair.leaf)
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool, ServerName: "localhost"},
		ForceAttemptHTTP2: true,
	}}
	t.Cleanup(client.CloseIdleConnections)
	resp, err := client.Get("https://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if got, want := string(body), "ok"; got != want {
		t.Errorf("body = %q, want %q", got, want)
	}
	if got, want := resp.ProtoMajor, 2; got != want {
		t.Errorf("protocol major = %d, want %d (h2 via ALPN)", got, want)
	}
	if resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Errorf("tls state = %+v, want TLS 1.2 or newer", resp.TLS)
	}

	t.Run("ErrTLS11Refused", func(t *testing.T) {
		conn, err := tls.Dial("tcp", addr, &tls.Config{
			InsecureSkipVerify: true, MaxVersion: tls.VersionTLS11,
		})
		if err == nil {
			conn.Close()
			t.Fatal("TLS 1.1 handshake succeeded, want refusal")
		}
	})
}

func TestReloader_Reload(t *testing.T) {
	dir := t.TempDir()
	newPair(t, "one", nil).write(t, dir)
	logs := &syncBuffer{}
	r, err := tlsconfig.New(tlsconfig.Options{CertPath: certPath(dir), KeyPath: keyPath(dir)},
		slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, r)
	if got, want := handshakeCN(t, addr), "one"; got != want {
		t.Fatalf("served CN = %q, want %q", got, want)
	}

	t.Run("OK", func(t *testing.T) {
		newPair(t, "two", nil).write(t, dir)
		if got, want := handshakeCN(t, addr), "two"; got != want {
			t.Errorf("after replacement served CN = %q, want %q", got, want)
		}
		if got, want := r.Leaf().Subject.CommonName, "two"; got != want {
			t.Errorf("Leaf CN = %q, want %q", got, want)
		}
	})

	t.Run("ErrCorruptKeepsOld", func(t *testing.T) {
		before := strings.Count(logs.String(), "level=ERROR")
		writeFile(t, certPath(dir), []byte("-----BEGIN CERTIFICATE-----\nnot base64\n"))
		for range 3 {
			if got, want := handshakeCN(t, addr), "two"; got != want {
				t.Errorf("after corrupt replacement served CN = %q, want %q", got, want)
			}
		}
		if got, want := strings.Count(logs.String(), "level=ERROR")-before, 1; got != want {
			t.Errorf("errors logged for one corrupt change = %d, want %d\n%s", got, want, logs.String())
		}
	})

	t.Run("ErrMismatchedKeyKeepsOld", func(t *testing.T) {
		three, four := newPair(t, "three", nil), newPair(t, "four", nil)
		writeFile(t, certPath(dir), three.certPEM)
		writeFile(t, keyPath(dir), four.keyPEM)
		if got, want := handshakeCN(t, addr), "two"; got != want {
			t.Errorf("with mismatched key served CN = %q, want %q", got, want)
		}
		// The key arrives a moment later, as when a renewal rewrites the files one by one.
		writeFile(t, keyPath(dir), three.keyPEM)
		if got, want := handshakeCN(t, addr), "three"; got != want {
			t.Errorf("after the matching key served CN = %q, want %q", got, want)
		}
	})

	t.Run("ErrMissingKeepsOld", func(t *testing.T) {
		if err := os.Remove(certPath(dir)); err != nil {
			t.Fatal(err)
		}
		if got, want := handshakeCN(t, addr), "three"; got != want {
			t.Errorf("with the file gone served CN = %q, want %q", got, want)
		}
		newPair(t, "five", nil).write(t, dir)
		if got, want := handshakeCN(t, addr), "five"; got != want {
			t.Errorf("after the file came back served CN = %q, want %q", got, want)
		}
	})
}

// TestReloader_Symlink follows a Let's Encrypt renewal: live/ holds symlinks that certbot points
// at new files in archive/.
func TestReloader_Symlink(t *testing.T) {
	dir := t.TempDir()
	archive1, archive2 := filepath.Join(dir, "archive1"), filepath.Join(dir, "archive2")
	for _, d := range []string{archive1, archive2} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	newPair(t, "one", nil).write(t, archive1)
	newPair(t, "two", nil).write(t, archive2)
	live := filepath.Join(dir, "live")
	if err := os.Mkdir(live, 0o700); err != nil {
		t.Fatal(err)
	}
	link := func(target string) {
		for _, name := range []string{"cert.pem", "key.pem"} {
			tmp := filepath.Join(live, name+".tmp")
			if err := os.Symlink(filepath.Join(target, name), tmp); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, filepath.Join(live, name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	link(archive1)
	r, err := tlsconfig.New(tlsconfig.Options{CertPath: certPath(live), KeyPath: keyPath(live)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	link(archive2)
	cert, _ := r.GetCertificate(nil)
	if got, want := cert.Leaf.Subject.CommonName, "two"; got != want {
		t.Errorf("after relinking CN = %q, want %q", got, want)
	}
}

func TestReloader_CheckInterval(t *testing.T) {
	dir := t.TempDir()
	newPair(t, "one", nil).write(t, dir)
	var now atomic.Int64
	now.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	r, err := tlsconfig.New(tlsconfig.Options{
		CertPath: certPath(dir), KeyPath: keyPath(dir), CheckInterval: time.Minute,
		Now: func() time.Time { return time.Unix(0, now.Load()) },
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	newPair(t, "two", nil).write(t, dir)

	cn := func() string {
		cert, err := r.GetCertificate(nil)
		if err != nil {
			t.Fatal(err)
		}
		return cert.Leaf.Subject.CommonName
	}
	now.Add(int64(59 * time.Second))
	if got, want := cn(), "one"; got != want {
		t.Errorf("within the interval CN = %q, want %q (files not looked at yet)", got, want)
	}
	now.Add(int64(time.Second))
	if got, want := cn(), "two"; got != want {
		t.Errorf("after the interval CN = %q, want %q", got, want)
	}
}

func TestNew_SelfSignedLogs(t *testing.T) {
	ca := newPair(t, "Test CA", nil)
	for _, tt := range []struct {
		name      string
		pair      *pair
		localDev  bool
		wantLevel string // "" for no self-signed message
	}{
		{"SelfSignedProduction", newPair(t, "a", nil), false, "level=WARN"},
		{"SelfSignedLocalDev", newPair(t, "a", nil), true, "level=INFO"},
		{"CASigned", newPair(t, "a", ca), false, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.pair.write(t, dir)
			logs := &syncBuffer{}
			_, err := tlsconfig.New(tlsconfig.Options{
				CertPath: certPath(dir), KeyPath: keyPath(dir), LocalDev: tt.localDev,
			}, slog.New(slog.NewTextHandler(logs, nil)))
			if err != nil {
				t.Fatal(err)
			}
			var line string
			for l := range strings.Lines(logs.String()) {
				if strings.Contains(l, "self-signed") {
					line = l
				}
			}
			switch {
			case tt.wantLevel == "" && line != "":
				t.Errorf("unexpected self-signed message: %s", line)
			case tt.wantLevel != "" && !strings.Contains(line, tt.wantLevel):
				t.Errorf("self-signed message = %q, want level %s", line, tt.wantLevel)
			case !tt.localDev && tt.wantLevel != "" && !strings.Contains(line, "outcalls"):
				t.Errorf("warning %q does not mention IC outcalls", line)
			}
		})
	}
}

func TestNew_Errors(t *testing.T) {
	dir := t.TempDir()
	a, b := newPair(t, "a", nil), newPair(t, "b", nil)
	writeFile(t, filepath.Join(dir, "a.pem"), a.certPEM)
	writeFile(t, filepath.Join(dir, "b.key"), b.keyPEM)
	for _, tt := range []struct{ name, cert, key string }{
		{"ErrEmptyPaths", "", ""},
		{"ErrMissingFile", filepath.Join(dir, "nope.pem"), filepath.Join(dir, "b.key")},
		{"ErrMismatchedPair", filepath.Join(dir, "a.pem"), filepath.Join(dir, "b.key")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tlsconfig.Load(tt.cert, tt.key, false, nil); err == nil {
				t.Error("Load succeeded, want error")
			}
		})
	}
}

// pair is a certificate for "localhost", ::1 and 127.0.0.1 with its key, PEM encoded.
type pair struct {
	certPEM, keyPEM []byte
	leaf            *x509.Certificate
	key             *ecdsa.PrivateKey
}

// newPair makes a certificate with common name cn, signed by parent or self-signed if nil.
func newPair(tb testing.TB, cn string, parent *pair) *pair {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv6loopback, net.IPv4(127, 0, 0, 1)},
		IsCA:         parent == nil,

		BasicConstraintsValid: true,
	}
	signer, signerCert := key, tmpl
	if parent != nil {
		signer, signerCert = parent.key, parent.leaf
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, &key.PublicKey, signer)
	if err != nil {
		tb.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	return &pair{
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		leaf:    leaf,
		key:     key,
	}
}

// write replaces dir/cert.pem and dir/key.pem atomically, as a careful renewal tool does.
func (p *pair) write(tb testing.TB, dir string) {
	tb.Helper()
	writeFile(tb, keyPath(dir), p.keyPEM)
	writeFile(tb, certPath(dir), p.certPEM)
}

func certPath(dir string) string { return filepath.Join(dir, "cert.pem") }
func keyPath(dir string) string  { return filepath.Join(dir, "key.pem") }

// writeFile writes data to a new file and renames it over path.
func writeFile(tb testing.TB, path string, data []byte) {
	tb.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		tb.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		tb.Fatal(err)
	}
}

// serve runs an HTTPS server with r on [::1] and returns its address; it skips the test on a
// host without IPv6 loopback.
func serve(tb testing.TB, r *tlsconfig.Reloader) string {
	tb.Helper()
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		tb.Skipf("no IPv6 loopback on this host: %v", err)
	}
	srv := &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0), // refused handshakes are expected
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(r.Listener(ln))
	}()
	tb.Cleanup(func() {
		srv.Close()
		<-done
	})
	return ln.Addr().String()
}

// handshakeCN makes a fresh TLS connection (no session resumption) and returns the served
// certificate's common name.
func handshakeCN(tb testing.TB, addr string) string {
	tb.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		tb.Fatalf("handshake with %s: %v", addr, err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].Subject.CommonName
}

// syncBuffer is a bytes.Buffer that the server's handshake goroutines and the test can share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
