package monitoring_test

import (
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aviate-labs/agent-go/principal"
	"github.com/gorilla/websocket"

	"canistry/pkg/ic/ictest"
	"canistry/pkg/lifecycle/runtest"
)

const (
	adminKey  = "monitoring-admin-key-0123456789"
	notifyKey = "monitoring-notify-key-0123456789"
	// miner is the miner_id of the outcalls the test sends.
	miner = "ryjl3-tyaaa-aaaaa-aaaba-cai"
)

// stack is the three real binaries on one SQLite file, the poller reading the replica double,
// the api serving HTTPS with a certificate made by the test (so that the certificate's expiry
// is scraped), the notifier and the poller plain HTTP; all on free loopback ports.
type stack struct {
	bin                   string
	env                   []string
	api, notifier, poller string // host:port
	certPath              string
	client                *http.Client // trusts the api's certificate
	double                *ictest.Server
	binaries              map[string]*runtest.Binary
}

func newStack(t *testing.T) *stack {
	t.Helper()
	s := &stack{bin: runtest.BuildBinaries(t), double: ictest.NewServer(t), binaries: map[string]*runtest.Binary{}}
	free := func() string { return "127.0.0.1:" + strconv.Itoa(runtest.FreePort(t, false)) }
	s.api, s.notifier, s.poller = free(), free(), free()
	cert := runtest.SelfSignedCert(t, "127.0.0.1")
	dir := t.TempDir()
	s.certPath = filepath.Join(dir, "cert.pem")
	keyPath := filepath.Join(dir, "key.pem")
	for path, b := range map[string][]byte{s.certPath: cert.CertPEM, keyPath: cert.KeyPEM} {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s.client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: cert.Pool, MinVersion: tls.VersionTLS12}}}
	s.env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"DATA_DIR=" + filepath.Join(dir, "data"), "NATS_URL=" + "nats://" + free(), "NATS_TOKEN=monitoring-nats-token-0123",
		"API_ADDR=" + s.api, "NOTIFIER_ADDR=" + s.notifier, "POLLER_ADDR=" + s.poller, "NOTIFIER_URL=http://" + s.notifier,
		"ADMIN_API_KEY=" + adminKey, "NOTIFY_API_KEYS=" + notifyKey,
		"IC_URL=" + s.double.URL(), "IC_FETCH_ROOT_KEY=true", "REFRESH_SCHEDULE=@every 1s", "REFRESH_TIMEOUT=5s",
		"HEARTBEAT_INTERVAL=1s", "LOCAL_DEV=true", "EVENT_LOG_POLL=100ms", "WEBHOOK_RETRY_BASE=10ms", "WEBHOOK_RETRIES=1",
		"SSL_CERT_PATH=" + s.certPath, "SSL_KEY_PATH=" + keyPath, "LOG_LEVEL=warn"}
	return s
}

// start runs one binary; the api alone serves HTTPS.
func (s *stack) start(t *testing.T, name string) {
	t.Helper()
	env := s.env
	if name == "api" {
		env = append(slices.Clone(env), "USE_HTTPS=true")
	}
	s.binaries[name] = runtest.StartBinary(t, s.bin, name, env)
	url := map[string]string{"api": "https://" + s.api, "notifier": "http://" + s.notifier, "poller": "http://" + s.poller}[name]
	runtest.WaitFor(t, name+" ready", func() bool { return s.status(url+"/readyz") == http.StatusOK })
}

// status GETs url (the api's through the client trusting its certificate) and returns the
// status code, 0 when there is no reply.
func (s *stack) status(url string) int {
	resp, err := s.client.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// admin sends an admin request to the api and fails the test unless it answers want.
func (s *stack) admin(t *testing.T, method, path, body string, want int) []byte {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, "https://"+s.api+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s = %d %s, want %d", method, path, resp.StatusCode, b, want)
	}
	return b
}

// outcall posts one copy of an outcall to the notifier and returns the status.
func (s *stack) outcall(t *testing.T, key, idem, body string) int {
	t.Helper()
	return postOutcall(t, http.DefaultClient, "http://"+s.notifier, key, idem, body)
}

// postOutcall posts one copy of an outcall to base (the notifier, or the api, which proxies
// it) through client and returns the status.
func postOutcall(t *testing.T, client *http.Client, base, key, idem, body string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/miner-notifications", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", key)
	if idem != "" {
		req.Header.Set("Idempotency-Key", idem)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func solution(ts int64, height int) string {
	return fmt.Sprintf(`{"event":"solution_found","miner_id":%q,"timestamp":%d,"data":{"block_height":%d}}`, miner, ts, height)
}

// registerCanisters installs a token, a miner and a wallet on the replica double and one miner
// that answers 503 (so refreshes succeed and fail), and registers them on the api.
func (s *stack) registerCanisters(t *testing.T) {
	t.Helper()
	demo := s.double.InstallDemo(ictest.DemoSpec{Tokens: 1, Miners: 1, Wallets: 1})
	broken := ictest.CanisterID(50)
	hash := sha256.Sum256([]byte("broken"))
	s.double.AddCanister(broken, hash[:], ictest.CanisterID(999)).
		Install(ictest.NewMiner(ictest.MinerInfo{IsMining: true}, ictest.CycleUsage{})).
		SetFault(ictest.FaultHTTP503)
	for kind, ids := range map[string][]principal.Principal{"token": demo.Tokens, "miner": append(demo.Miners, broken), "wallet": demo.Wallets} {
		for _, id := range ids {
			s.admin(t, http.MethodPost, "/canisters", fmt.Sprintf(`{"canister_id":%q,"kind":%q}`, id.Encode(), kind), http.StatusCreated)
		}
	}
}

// webhooks creates an endpoint that accepts every delivery and one that answers 500 (marked
// failing after WEBHOOK_RETRIES); it returns the accepting receiver's count of deliveries.
func (s *stack) webhooks(t *testing.T) func() int {
	t.Helper()
	got := make(chan struct{}, 1<<16)
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- struct{}{}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(ok.Close)
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down for the test", http.StatusInternalServerError)
	}))
	t.Cleanup(failing.Close)
	for _, u := range []string{ok.URL, failing.URL} {
		s.admin(t, http.MethodPost, "/webhooks", fmt.Sprintf(`{"url":%q}`, u+"/hook"), http.StatusCreated)
	}
	return func() int { return len(got) }
}

// follow keeps a WebSocket client on the notifier's /ws until the test ends.
func (s *stack) follow(t *testing.T) {
	t.Helper()
	conn, _, err := websocket.DefaultDialer.DialContext(t.Context(), "ws://"+s.notifier+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	go func() {
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	}()
}

// traffic makes every series the rules and the dashboard read exist with data: a replicated
// outcall storm (13 copies a notification), a copy whose body diverges, notifications past the
// per-miner burst (rate-limited), a wrong key (rejected, an auth failure), REST reads, and
// webhook deliveries that succeed and fail.
func (s *stack) traffic(t *testing.T) {
	t.Helper()
	ts := int64(1_790_000_000_000_000_000)
	for n := range 3 { // a storm: 13 copies of each of 3 notifications
		body := solution(ts+int64(n), n)
		for range 13 {
			if code := s.outcall(t, notifyKey, "", body); code != http.StatusOK {
				t.Fatalf("storm copy: %d", code)
			}
		}
	}
	if code := s.outcall(t, notifyKey, "diverging-key", solution(ts+100, 100)); code != http.StatusOK {
		t.Fatalf("first copy: %d", code)
	}
	s.outcall(t, notifyKey, "diverging-key", solution(ts+100, 101)) // same key, another body
	if code := s.outcall(t, "not-a-valid-key-0123456789", "", solution(ts+200, 200)); code != http.StatusUnauthorized {
		t.Fatalf("wrong key: %d, want 401", code)
	}
	// The per-miner burst is 60, then 2 a second: 150 in a row are limited unless they take
	// over 45 s.
	limited := 0
	for n := range 150 {
		if s.outcall(t, notifyKey, "", solution(ts+1000+int64(n), n)) == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited == 0 {
		t.Fatal("150 notifications of one miner in a row: none rate-limited")
	}
	for _, path := range []string{"/canisters", "/tokens", "/miners", "/system/status", "/notifications"} {
		for range 3 {
			if code := s.status("https://" + s.api + path); code != http.StatusOK {
				t.Fatalf("GET %s: %d", path, code)
			}
		}
	}
}
