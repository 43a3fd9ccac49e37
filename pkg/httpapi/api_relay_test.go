package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"canistry/pkg/registry"
	"canistry/pkg/relay"
	"canistry/pkg/relay/relaytest"
	"canistry/pkg/store"
)

// seedRelayCalls stores n done relay calls (route "api", then "pay" for every other one).
func seedRelayCalls(t *testing.T, a *testAPI, n int) []registry.RelayCall {
	t.Helper()
	var out []registry.RelayCall
	for i := range n {
		route := []string{"api", "pay"}[i%2]
		d, err := a.Store.ClaimRelayCall(t.Context(), store.RelayClaim{KeyHash: fmt.Sprintf("%064x", i), Fingerprint: strings.Repeat("f", 64),
			Route: route, Method: "POST", Path: "/v1/charges?x=1", Owner: "test", Family: "ipv6", Now: a.Clock.Now(), Lease: time.Minute, Window: 5 * time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		c, err := a.Store.FinishRelayCall(t.Context(), d.Call.ID, "test", store.RelayResult{Result: registry.RelayOK, UpstreamStatus: 201,
			Duration: 42 * time.Millisecond, Reply: registry.RelayReply{Status: 201, Headers: []registry.RelayHeader{{Name: "Content-Type", Value: "application/json"}},
				Body: []byte(`{"id":"ch_1"}`)}}, a.Clock.Now(), 0)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

// TestRelayCalls: the relay's log is admin only, paged newest first, filtered by route; the
// detail has the reply every copy got.
func TestRelayCalls(t *testing.T) {
	a := newTestAPI(t, apiOptions{adminKey: testAdminKey})
	calls := seedRelayCalls(t, a, 3)
	if r := a.do("GET", "/relay/calls", nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("without the admin key: %d %s", r.Status, r.Body)
	}
	r := a.admin("GET", "/relay/calls?limit=2", nil)
	var page struct {
		Items []struct {
			ID             int64          `json:"id"`
			Route          string         `json:"route"`
			SourceFamilies map[string]int `json:"source_families"`
		} `json:"items"`
		NextCursor *string `json:"next_cursor"`
		Total      int     `json:"total"`
	}
	if err := json.Unmarshal(r.Body, &page); err != nil || r.Status != 200 || len(page.Items) != 2 || page.Items[0].ID != calls[2].ID ||
		page.Total != 3 || page.NextCursor == nil || page.Items[0].SourceFamilies["ipv6"] != 1 {
		t.Fatalf("list: %d %s", r.Status, r.Body)
	}
	r = a.admin("GET", "/relay/calls?route=pay", nil)
	if err := json.Unmarshal(r.Body, &page); err != nil || len(page.Items) != 1 || page.Items[0].Route != "pay" {
		t.Fatalf("by route: %s", r.Body)
	}
	r = a.admin("GET", fmt.Sprintf("/relay/calls/%d", calls[0].ID), nil)
	if r.Status != 200 || !strings.Contains(string(r.Body), `"response_body":"{\"id\":\"ch_1\"}"`) ||
		!strings.Contains(string(r.Body), `"response_headers":[{"name":"Content-Type","value":"application/json"}]`) {
		t.Fatalf("detail: %d %s", r.Status, r.Body)
	}
	for _, bad := range []string{"/relay/calls/0", "/relay/calls/x", "/relay/calls?route=Bad!", "/relay/calls?limit=0"} {
		if r := a.admin("GET", bad, nil); r.Status != http.StatusBadRequest {
			t.Errorf("%s: %d %s", bad, r.Status, r.Body)
		}
	}
	if r := a.admin("GET", "/relay/calls/999", nil); r.Status != http.StatusNotFound {
		t.Errorf("unknown call: %d", r.Status)
	}
}

// TestRelay_ThroughProxy: the api proxies the relay's calls to the notifier byte for byte (no
// Date, no CORS) and keeps /relay/calls for itself; a climbing path reaches the relay as it was
// sent and is refused there.
func TestRelay_ThroughProxy(t *testing.T) {
	up := relaytest.New(false)
	t.Cleanup(up.Close)
	routes := filepath.Join(t.TempDir(), "routes.json")
	if err := os.WriteFile(routes, []byte(`{"routes": [{"name": "api", "upstream": "`+up.URL+`", "methods": ["POST"], "api_keys": ["k"]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "relay.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	rl, err := relay.New(relay.Config{Store: st, Path: routes, Getenv: func(k string) string { return map[string]string{"LOCAL_DEV": "true"}[k] },
		Window: 5 * time.Minute, LocalDev: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rl.Close(t.Context()) })
	notifier := httptest.NewServer(rl)
	t.Cleanup(notifier.Close)
	a := newTestAPI(t, apiOptions{adminKey: testAdminKey, notifierURL: apiParseURL(t, notifier.URL)})
	req := "POST /relay/api/echo HTTP/1.1\r\nHost: x\r\nX-API-Key: k\r\nIdempotency-Key: p1\r\nContent-Type: application/json\r\n" +
		"Content-Length: 2\r\nConnection: close\r\n\r\n{}"
	direct := apiRawExchange(t, apiHost(t, notifier.URL), req)
	proxied := apiRawExchange(t, apiHost(t, a.URL), req)
	if !bytes.Equal(direct, proxied) || !bytes.HasPrefix(direct, []byte("HTTP/1.1 200 ")) || up.Total() != 1 {
		t.Fatalf("proxied relay reply differs or was called again (%d calls):\n%q\n%q", up.Total(), direct, proxied)
	}
	climb := apiRawExchange(t, apiHost(t, a.URL), strings.Replace(req, "/relay/api/echo", "/relay/api/a/../../x", 1))
	if !bytes.HasPrefix(climb, []byte("HTTP/1.1 400 ")) {
		t.Fatalf("climbing path through the api: %q", climb)
	}
	if r := a.do("GET", "/relay/calls", nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("/relay/calls was proxied: %d %s", r.Status, r.Body)
	}
}
