package httpapi_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"canistry/pkg/httpapi"
	"canistry/pkg/registry"
	"canistry/pkg/store"
)

const statusNATSURL = "nats://10.9.8.7:4222"

// statusServer serves the api with the status detail behind testAdminKey and a notifier that is
// down (its URL is returned).
func statusServer(t *testing.T) (srv *httptest.Server, dbPath, notifier string) {
	t.Helper()
	dbPath = filepath.Join(t.TempDir(), "secret-dir", "registry.db")
	st, err := store.Open(t.Context(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	now := time.Now()
	for _, p := range []registry.Process{
		{Name: registry.ProcessAPI, Instance: "secret-host:4242", Version: "v1", Addr: "[::]:8080", StartedAt: now},
		{Name: registry.ProcessPoller, Instance: "secret-host:4343", Version: "v1", Addr: "[::1]:8082", StartedAt: now},
	} {
		if err := st.Heartbeat(t.Context(), p); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	notifier = "http://" + ln.Addr().String()
	ln.Close()
	nu, _ := url.Parse(notifier)
	clients := 3
	h := httpapi.NewAPIHandler(httpapi.APIDeps{
		Store: st, Logger: slog.New(slog.DiscardHandler), NotifierURL: nu, AdminAPIKey: testAdminKey,
		Status: httpapi.StatusDeps{Store: st, Started: now, AliveWithin: time.Hour, AdminAPIKey: testAdminKey,
			NATS: func() httpapi.NATSState {
				return httpapi.NATSState{Embedded: true, URL: statusNATSURL, Connected: true, Status: "CONNECTED", Clients: &clients}
			}},
	})
	srv = httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, dbPath, notifier
}

func getStatus(t *testing.T, srv *httptest.Server, auth string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/system/status", nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestStatus_PublicShowsHealthOnly: without the admin key the reply has health (alive flags,
// NATS connected, each process's version and last heartbeat with its age) but no database
// path, host:pid, addresses, start times, NATS URL or row counts.
func TestStatus_PublicShowsHealthOnly(t *testing.T) {
	srv, dbPath, _ := statusServer(t)
	code, body := getStatus(t, srv, "")
	if code != http.StatusOK {
		t.Fatalf("public status: %d %s", code, body)
	}
	for _, secret := range []string{dbPath, "secret-dir", "secret-host", "4242", "[::1]:8082", statusNATSURL, "10.9.8.7", `"canisters"`} {
		if strings.Contains(body, secret) {
			t.Errorf("public status shows %q: %s", secret, body)
		}
	}
	var st struct {
		NATS struct {
			Connected bool `json:"connected"`
		} `json:"nats"`
		Processes []struct {
			Name         string     `json:"name"`
			Alive        bool       `json:"alive"`
			Version      string     `json:"version"`
			StartedAt    *time.Time `json:"started_at"`
			HeartbeatAt  *time.Time `json:"heartbeat_at"`
			HeartbeatAge *int64     `json:"heartbeat_age_seconds"`
		} `json:"processes"`
		AllAlive bool `json:"all_alive"`
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	if !st.NATS.Connected || len(st.Processes) != 3 || !st.Processes[0].Alive || !st.Processes[1].Alive || st.Processes[2].Alive || st.AllAlive {
		t.Errorf("health missing from the public reply: %+v", st)
	}
	for i, p := range st.Processes {
		beat := i < 2 // the api and the poller beat in statusServer; the notifier never did
		if p.StartedAt != nil || (p.HeartbeatAt != nil) != beat || (p.HeartbeatAge != nil) != beat || (p.Version == "v1") != beat {
			t.Errorf("public process %s: version %q, started %v, heartbeat %v, age %v", p.Name, p.Version, p.StartedAt, p.HeartbeatAt, p.HeartbeatAge)
		}
		if beat && (*p.HeartbeatAge < 0 || *p.HeartbeatAge > 3600) {
			t.Errorf("public process %s: heartbeat age %d s for a heartbeat of this test", p.Name, *p.HeartbeatAge)
		}
	}
}

// TestStatus_DetailNeedsAdminKey: the admin key shows the detail; another credential is 403.
func TestStatus_DetailNeedsAdminKey(t *testing.T) {
	srv, dbPath, _ := statusServer(t)
	code, body := getStatus(t, srv, "Bearer "+testAdminKey)
	if code != http.StatusOK {
		t.Fatalf("detail: %d %s", code, body)
	}
	for _, want := range []string{dbPath, "secret-host:4242", "[::1]:8082", statusNATSURL, `"canisters"`, `"clients":3`} {
		if !strings.Contains(body, want) {
			t.Errorf("detail lacks %q: %s", want, body)
		}
	}
	for _, auth := range []string{"Bearer wrong-key-0123456789", "Basic " + testAdminKey, "Bearer"} {
		code, body := getStatus(t, srv, auth)
		if code != http.StatusForbidden || strings.Contains(body, dbPath) || strings.Contains(body, testAdminKey) {
			t.Errorf("%q: %d %s, want 403 without detail", auth, code, body)
		}
	}
}

// TestStatus_DetailDisabledWithoutKey: with no admin key configured, no credential unlocks the
// detail; every request gets the public reply.
func TestStatus_DetailDisabledWithoutKey(t *testing.T) {
	st, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	h := httpapi.NewAPIHandler(httpapi.APIDeps{Store: st, Logger: slog.New(slog.DiscardHandler),
		Status: httpapi.StatusDeps{Store: st, Started: time.Now(), AliveWithin: time.Hour,
			NATS: func() httpapi.NATSState { return httpapi.NATSState{URL: statusNATSURL} }}})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	for _, auth := range []string{"", "Bearer ", "Bearer anything-at-all-0123"} {
		if code, body := getStatus(t, srv, auth); code != http.StatusOK || strings.Contains(body, statusNATSURL) {
			t.Errorf("%q: %d %s, want the public reply", auth, code, body)
		}
	}
}

// TestProxy_502HidesNotifierURL: the api's 502 for a down notifier does not name its address.
func TestProxy_502HidesNotifierURL(t *testing.T) {
	srv, _, notifier := statusServer(t)
	u, _ := url.Parse(notifier)
	for _, path := range []string{"/ws-status", "/test"} {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusBadGateway {
			t.Fatalf("%s: %d %s", path, res.StatusCode, b)
		}
		if strings.Contains(string(b), u.Host) || strings.Contains(string(b), u.Port()) || strings.Contains(string(b), "127.0.0.1") {
			t.Errorf("%s: 502 names the notifier: %s", path, b)
		}
	}
}

// TestStatus_LastRefresh: /system/status says when the poller last attempted and last
// succeeded a refresh over all canisters (null before the first), validated against the spec.
func TestStatus_LastRefresh(t *testing.T) {
	a := newTestAPI(t, apiOptions{adminKey: testAdminKey})
	var st struct {
		Refresh struct {
			LastAttemptAt *time.Time `json:"last_attempt_at"`
			LastSuccessAt *time.Time `json:"last_success_at"`
		} `json:"refresh"`
	}
	a.do("GET", "/system/status", nil).JSON(t, &st)
	if st.Refresh.LastAttemptAt != nil || st.Refresh.LastSuccessAt != nil {
		t.Fatalf("before any refresh: %+v", st.Refresh)
	}
	registerCanister(t, a, idLedger, "token")
	registerCanister(t, a, idMiner, "miner")
	older, newer := a.Clock.Now().Add(-time.Hour), a.Clock.Now().Add(-time.Minute)
	for _, r := range []struct {
		id               registry.CanisterID
		attempt, success *time.Time
	}{{idLedger, &older, &older}, {idMiner, &newer, nil}} {
		if err := a.Store.RecordRefresh(t.Context(), r.id, registry.RefreshState{LastAttemptAt: r.attempt, LastSuccessAt: r.success,
			NextAttemptAt: newer}); err != nil {
			t.Fatal(err)
		}
	}
	a.do("GET", "/system/status", nil).JSON(t, &st)
	if st.Refresh.LastAttemptAt == nil || !st.Refresh.LastAttemptAt.Equal(newer.Truncate(time.Millisecond)) ||
		st.Refresh.LastSuccessAt == nil || !st.Refresh.LastSuccessAt.Equal(older.Truncate(time.Millisecond)) {
		t.Errorf("refresh %+v, want the newest attempt %v and the newest success %v", st.Refresh, newer, older)
	}
}
