package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// testCA is a private certificate authority, made for one test (never committed).
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "canistry test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// issue returns a leaf certificate for names, as a full chain (leaf, then the CA, as Let's
// Encrypt's fullchain.pem) and a PKCS #8 key (as certbot's privkey.pem), both PEM.
func (ca *testCA) issue(t *testing.T, names ...string) (chain, key []byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &k.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	chain = append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw})...)
	return chain, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb})
}

func writeFile(t *testing.T, path string, b []byte, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, mode); err != nil {
		t.Fatal(err)
	}
}

// publicName is the name the certificates are issued for: never the loopback address the
// api's proxy dials, as on a real host.
const publicName = "example.com"

// httpsMode is one way of README's "HTTPS: three ways" (plus its development setup): the
// environment of both binaries, and what a client of the public URL trusts.
type httpsMode struct {
	name string
	env  func(t *testing.T, ca *testCA) []string
	// lb, when set, terminates TLS in front of the api (the load balancer), with its own
	// certificate.
	lb         bool
	serverName string // what the client verifies
	selfSigned bool   // the client trusts the certificate itself, not the CA
}

func httpsModes() []httpsMode {
	return []httpsMode{
		{name: "OwnCertificate", serverName: publicName, env: func(t *testing.T, ca *testCA) []string {
			// README: "Put the chain and key where the canistry user can read them ... 0640".
			dir := filepath.Join(t.TempDir(), "etc", "canistry", "tls")
			chain, key := ca.issue(t, publicName)
			writeFile(t, filepath.Join(dir, "fullchain.pem"), chain, 0o640)
			writeFile(t, filepath.Join(dir, "privkey.pem"), key, 0o640)
			return []string{"USE_HTTPS=true", "SSL_CERT_PATH=" + filepath.Join(dir, "fullchain.pem"), "SSL_KEY_PATH=" + filepath.Join(dir, "privkey.pem")}
		}},
		{name: "LetsEncrypt", serverName: publicName, env: func(t *testing.T, ca *testCA) []string {
			// certbot's layout (live/ symlinks into archive/), and the deploy hook's copies in
			// /etc/canistry/tls/<domain>/, which setup_letsencrypt.sh puts in the environment.
			root := t.TempDir()
			chain, key := ca.issue(t, publicName)
			archive := filepath.Join(root, "letsencrypt", "archive", publicName)
			live := filepath.Join(root, "letsencrypt", "live", publicName)
			writeFile(t, filepath.Join(archive, "fullchain1.pem"), chain, 0o644)
			writeFile(t, filepath.Join(archive, "privkey1.pem"), key, 0o600)
			if err := os.MkdirAll(live, 0o755); err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{"fullchain", "privkey"} {
				if err := os.Symlink(filepath.Join("..", "..", "archive", publicName, f+"1.pem"), filepath.Join(live, f+".pem")); err != nil {
					t.Fatal(err)
				}
			}
			tlsDir := filepath.Join(root, "etc", "canistry", "tls", publicName)
			for _, f := range []string{"fullchain.pem", "privkey.pem"} {
				b, err := os.ReadFile(filepath.Join(live, f))
				if err != nil {
					t.Fatal(err)
				}
				writeFile(t, filepath.Join(tlsDir, f), b, 0o640)
			}
			return []string{"USE_HTTPS=true", "SSL_CERT_PATH=" + filepath.Join(tlsDir, "fullchain.pem"), "SSL_KEY_PATH=" + filepath.Join(tlsDir, "privkey.pem")}
		}},
		{name: "LetsEncryptLiveSymlinks", serverName: publicName, env: func(t *testing.T, ca *testCA) []string {
			root := t.TempDir()
			chain, key := ca.issue(t, publicName)
			archive := filepath.Join(root, "archive", publicName)
			live := filepath.Join(root, "live", publicName)
			writeFile(t, filepath.Join(archive, "fullchain1.pem"), chain, 0o640)
			writeFile(t, filepath.Join(archive, "privkey1.pem"), key, 0o640)
			if err := os.MkdirAll(live, 0o755); err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{"fullchain", "privkey"} {
				if err := os.Symlink(filepath.Join("..", "..", "archive", publicName, f+"1.pem"), filepath.Join(live, f+".pem")); err != nil {
					t.Fatal(err)
				}
			}
			return []string{"USE_HTTPS=true", "SSL_CERT_PATH=" + filepath.Join(live, "fullchain.pem"), "SSL_KEY_PATH=" + filepath.Join(live, "privkey.pem")}
		}},
		{name: "Development", serverName: "localhost", selfSigned: true, env: func(t *testing.T, _ *testCA) []string {
			// README: scripts/generate_cert.sh localhost, then USE_HTTPS=true LOCAL_DEV=true.
			cert, key, _ := writeCert(t)
			return []string{"USE_HTTPS=true", "LOCAL_DEV=true", "SSL_CERT_PATH=" + cert, "SSL_KEY_PATH=" + key}
		}},
		{name: "LoadBalancer", serverName: publicName, lb: true, env: func(*testing.T, *testCA) []string {
			return []string{"USE_HTTPS=false"}
		}},
	}
}

// TestHTTPS_ThroughRealBinaries runs the api and the notifier, as built, in every HTTPS mode
// README documents, with the default NOTIFIER_URL form (http on loopback): every proxied route
// answers through the api's public HTTPS origin, outcall replies are the notifier's bytes,
// WebSocket events arrive over wss, and the notifier's own port serves TLS to the world and
// plain HTTP to loopback only.
func TestHTTPS_ThroughRealBinaries(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binaries")
	}
	bin := buildBinaries(t)
	for _, mode := range httpsModes() {
		t.Run(mode.name, func(t *testing.T) { checkHTTPSMode(t, bin, mode) })
	}
}

func checkHTTPSMode(t *testing.T, bin string, mode httpsMode) {
	ca := newTestCA(t)
	modeEnv := mode.env(t, ca)
	apiAddr, natsAddr := freeAddr(t), freeAddr(t)
	_, notifierPort, _ := net.SplitHostPort(freeAddr(t))
	// The defaults' shape: the notifier on the wildcard address, the api proxying to
	// http://[::1]:<port> (http://127.0.0.1:<port> without IPv6).
	notifierAddr, notifierURL := "0.0.0.0:"+notifierPort, "http://127.0.0.1:"+notifierPort
	if hasIPv6Loopback() {
		notifierAddr, notifierURL = "[::]:"+notifierPort, "http://[::1]:"+notifierPort
	}
	const notifyKey = "notify-key-0123456789"
	env := append([]string{
		"DATA_DIR=" + t.TempDir(),
		"API_ADDR=" + apiAddr,
		"NOTIFIER_ADDR=" + notifierAddr,
		"NOTIFIER_URL=" + notifierURL,
		"NATS_URL=nats://" + natsAddr,
		"NATS_TOKEN=test-token-0123456789",
		"NOTIFY_API_KEYS=" + notifyKey,
		"ADMIN_API_KEY=admin-key-0123456789",
		"IC_URL=http://127.0.0.1:1",
		"HEARTBEAT_INTERVAL=200ms",
		"LOG_LEVEL=debug",
	}, modeEnv...)
	api := startBin(t, bin, "api", env)
	notifier := startBin(t, bin, "notifier", env)

	roots := ca.pool
	if mode.selfSigned {
		roots = selfSignedPool(t, modeEnv)
	}
	tlsClient := &tls.Config{RootCAs: roots, ServerName: mode.serverName, MinVersion: tls.VersionTLS12}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsClient.Clone(), ForceAttemptHTTP2: true,
		DisableCompression: true}}

	public := "https://" + apiAddr
	if mode.lb {
		public = startLoadBalancer(t, ca, "http://"+apiAddr)
	}
	notifierLocal := "127.0.0.1:" + notifierPort
	notifierScheme := "https"
	if !strings.Contains(strings.Join(modeEnv, " "), "USE_HTTPS=true") {
		notifierScheme = "http"
	}
	ready := false
	defer func() {
		if !ready {
			t.Logf("api:\n%s\nnotifier:\n%s", api.out, notifier.out)
		}
	}()
	waitFor(t, "the api and the notifier to be ready", func() bool {
		for _, p := range []*binProc{api, notifier} {
			select {
			case <-p.done:
				t.Fatalf("%s exited:\n%s", p.name, p.out)
			default:
			}
		}
		return statusOf(client, "GET", public+"/readyz") == http.StatusOK &&
			statusOf(client, "GET", notifierScheme+"://"+notifierLocal+"/readyz") == http.StatusOK
	})
	ready = true

	// Every proxied route answers on the public origin (not "400 Client sent an HTTP request
	// to an HTTPS server", not 502).
	for _, c := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/ws-status", 200}, {"HEAD", "/ws-status", 200}, {"GET", "/test", 200}, {"GET", "/test/app.js", 200},
		{"GET", "/test/app.css", 200}, {"HEAD", "/test", 200}, {"GET", "/ws", 400}, {"OPTIONS", "/ws", 204},
		{"GET", "/ws?bogus=1", 400}, {"GET", "/miner-notifications", 405},
		{"GET", "/healthz", 200}, {"GET", "/canisters", 200},
	} {
		req, _ := http.NewRequestWithContext(t.Context(), c.method, public+c.path, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Errorf("%s %s: %v", c.method, c.path, err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s %s%s = %d %s, want %d", c.method, public, c.path, resp.StatusCode, body, c.want)
		}
		if resp.StatusCode >= 400 && c.method != "HEAD" && !bytes.HasPrefix(body, []byte(`{"error":{`)) {
			t.Errorf("%s %s: error body %q is not the JSON error shape", c.method, c.path, body)
		}
	}

	// A WebSocket client over wss gets the event of an outcall posted on the public origin.
	wsURL := "wss" + strings.TrimPrefix(public, "https") + "/ws?events=solution_found"
	dialer := websocket.Dialer{TLSClientConfig: tlsClient.Clone(), HandshakeTimeout: 10 * time.Second}
	conn, resp, err := dialer.DialContext(t.Context(), wsURL, nil)
	if err != nil {
		t.Fatalf("dial %s: %v (%v)", wsURL, err, resp)
	}
	defer conn.Close()
	waitFor(t, "the WebSocket client to be counted", func() bool {
		var st struct{ Clients int }
		r, err := client.Get(public + "/ws-status")
		if err != nil {
			return false
		}
		defer r.Body.Close()
		return json.NewDecoder(r.Body).Decode(&st) == nil && st.Clients == 1
	})

	ts := time.Now().UnixNano()
	outcall := fmt.Sprintf(`{"event":"solution_found","miner_id":"rrkah-fqaaa-aaaaa-aaaaq-cai","timestamp":%d,"data":{"token_id":"ryjl3-tyaaa-aaaaa-aaaba-cai","block_height":1}}`, ts)
	post := func(base string) (int, http.Header, []byte) {
		req, _ := http.NewRequestWithContext(t.Context(), "POST", base+"/miner-notifications", strings.NewReader(outcall))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-API-Key", notifyKey)
		r, err := client.Do(req)
		if err != nil {
			t.Fatalf("POST %s/miner-notifications: %v", base, err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode, r.Header, b
	}
	st1, h1, b1 := post(public)
	if st1 != http.StatusOK || !bytes.Contains(b1, []byte(`"status":"received"`)) {
		t.Fatalf("outcall through the public origin = %d %s", st1, b1)
	}
	// A replica's copy sent straight to the notifier's port gets the same bytes.
	st2, h2, b2 := post(notifierScheme + "://" + notifierLocal)
	if st2 != st1 || !bytes.Equal(b1, b2) || h1.Get("Content-Type") != h2.Get("Content-Type") || h1.Get("Content-Length") != h2.Get("Content-Length") {
		t.Errorf("copy on the notifier's port = %d %v %s, through the api %d %v %s", st2, h2, b2, st1, h1, b1)
	}
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, msg, err := conn.ReadMessage()
	if err != nil {
		t.Fatalf("no event over wss: %v", err)
	}
	if !bytes.Contains(msg, []byte(`"event":"solution_found"`)) || !bytes.Contains(msg, []byte(fmt.Sprint(ts/1e6))) {
		t.Errorf("event %s, want the outcall's solution_found", msg)
	}

	if notifierScheme == "https" {
		checkNotifierPort(t, client, tlsClient, notifierLocal, notifierPort)
		// The api's port stays HTTPS only, to loopback too.
		if st := statusOf(http.DefaultClient, "GET", "http://"+apiAddr+"/healthz"); st == http.StatusOK {
			t.Error("plain HTTP answered 200 on the api's HTTPS port")
		}
	}

	_ = conn.Close()
	notifier.stop(t)
	api.stop(t)
}

// checkNotifierPort: with USE_HTTPS the notifier serves TLS (HTTP/2 too) to everyone, plain
// HTTP to loopback peers (the api's proxy), and to any other peer only TLS (plain is a 400).
func checkNotifierPort(t *testing.T, client *http.Client, tlsClient *tls.Config, local, port string) {
	t.Helper()
	resp, err := client.Get("https://" + local + "/healthz")
	if err != nil {
		t.Fatalf("notifier over TLS: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
		t.Errorf("notifier over TLS = %d %s, want 200 over HTTP/2", resp.StatusCode, resp.Proto)
	}
	if st := statusOf(http.DefaultClient, "GET", "http://"+local+"/healthz"); st != http.StatusOK {
		t.Errorf("plain HTTP from loopback to the notifier = %d, want 200", st)
	}
	ip := nonLoopbackIP()
	if ip == "" {
		t.Log("no non-loopback address on this host: plain HTTP from a remote peer not checked")
		return
	}
	addr := net.JoinHostPort(ip, port)
	r, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("plain HTTP to %s: %v", addr, err)
	}
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != http.StatusBadRequest || !bytes.Contains(body, []byte(`"error"`)) {
		t.Errorf("plain HTTP from %s to the notifier = %d %s, want a 400 JSON error (TLS only)", ip, r.StatusCode, body)
	}
	tr := &http.Transport{TLSClientConfig: tlsClient.Clone()}
	defer tr.CloseIdleConnections()
	r, err = (&http.Client{Transport: tr}).Get("https://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("TLS from %s: %v", ip, err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusOK {
		t.Errorf("TLS from %s to the notifier = %d, want 200", ip, r.StatusCode)
	}
}

// nonLoopbackIP returns an address of this host that is not loopback, or "".
func nonLoopbackIP() string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() && n.IP.To4() != nil {
			ln, err := net.Listen("tcp", net.JoinHostPort(n.IP.String(), "0"))
			if err != nil {
				continue
			}
			ln.Close()
			return n.IP.String()
		}
	}
	return ""
}

// startLoadBalancer is README's first way: something in front terminates TLS with its own
// certificate and forwards plain HTTP to the api (port 8080), adding no header to replies.
func startLoadBalancer(t *testing.T, ca *testCA, backend string) string {
	t.Helper()
	u, err := url.Parse(backend)
	if err != nil {
		t.Fatal(err)
	}
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(u)
		pr.Out.Host = pr.In.Host
		pr.SetXForwarded()
	}, ErrorLog: log.New(io.Discard, "", 0)} // refused while the api starts: polled again
	chain, key := ca.issue(t, publicName)
	cert, err := tls.X509KeyPair(chain, key)
	if err != nil {
		t.Fatal(err)
	}
	lb := httptest.NewUnstartedServer(rp)
	lb.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	lb.StartTLS()
	t.Cleanup(lb.Close)
	return lb.URL
}

func selfSignedPool(t *testing.T, env []string) *x509.CertPool {
	t.Helper()
	for _, kv := range env {
		if p, ok := strings.CutPrefix(kv, "SSL_CERT_PATH="); ok {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(b) {
				t.Fatal("no certificate in " + p)
			}
			return pool
		}
	}
	t.Fatal("no SSL_CERT_PATH")
	return nil
}

func statusOf(c *http.Client, method, url string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return 0
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}
