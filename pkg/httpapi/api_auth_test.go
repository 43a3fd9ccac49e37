package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"canistry/pkg/httpapi"
)

func TestAPI_Auth(t *testing.T) {
	writes := []struct{ method, path, body string }{
		{"POST", "/canisters", `{"canister_id":"` + string(idLedger) + `","kind":"token"}`},
		{"PUT", "/canisters/" + string(idLedger), `{"name":"x"}`},
		{"DELETE", "/canisters/" + string(idLedger), ``},
		{"POST", "/canisters/" + string(idLedger) + "/refresh", ``},
		{"POST", "/system/refresh", ``},
		{"POST", "/module-hashes", `{"hash":"` + strings.Repeat("a", 64) + `","name":"x"}`},
	}
	t.Run("KeyUnset", func(t *testing.T) {
		a := newTestAPI(t, apiOptions{})
		for _, w := range writes {
			r := a.do(w.method, w.path, w.body, "Authorization", "Bearer anything-at-all-here")
			if r.Status != http.StatusUnauthorized || !strings.Contains(string(r.Body), "ADMIN_API_KEY") {
				t.Errorf("%s %s: %d %s", w.method, w.path, r.Status, r.Body)
			}
		}
	})
	a := newTestAPI(t, apiOptions{adminKey: testAdminKey})
	for _, tt := range []struct {
		name, header string
		status       int
	}{
		{"Missing", "", 401},
		{"Basic", "Basic dXNlcjpwYXNz", 401},
		{"EmptyBearer", "Bearer ", 401},
		{"NoScheme", testAdminKey, 401},
		{"Wrong", "Bearer wrong-key-wrong-key-wrong", 403},
		{"Prefix", "Bearer " + testAdminKey[:10], 403},
		{"Longer", "Bearer " + testAdminKey + "x", 403},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// Each case starts a new throttle window: six wrong keys are under the limit, but
			// the cases together are not (TestAPI_AdminKeyThrottle tests the throttle).
			a.Clock.Advance(httpapi.DefaultAuthWindow)
			for _, w := range writes {
				r := a.do(w.method, w.path, w.body, "Authorization", tt.header)
				if r.Status != tt.status {
					t.Fatalf("%s %s: %d %s", w.method, w.path, r.Status, r.Body)
				}
				if tt.status == 401 && r.Header.Get("WWW-Authenticate") == "" {
					t.Fatalf("%s %s: 401 without WWW-Authenticate", w.method, w.path)
				}
				if r.Header.Get("Access-Control-Allow-Origin") != "" {
					t.Fatalf("%s %s: a write answered with CORS headers", w.method, w.path)
				}
			}
		})
	}
	t.Run("SchemeCaseInsensitive", func(t *testing.T) {
		a.Clock.Advance(httpapi.DefaultAuthWindow)
		r := a.do("POST", "/canisters", writes[0].body, "Authorization", "bearer "+testAdminKey)
		if r.Status != http.StatusCreated {
			t.Fatalf("got %d %s", r.Status, r.Body)
		}
	})
}

func TestAPI_CORS(t *testing.T) {
	a := newTestAPI(t, apiOptions{adminKey: testAdminKey})
	for _, path := range []string{"/canisters", "/canisters/" + string(idLedger), "/tokens", "/miners/by-token/" + string(idLedger),
		"/module-hashes", "/system/status", "/openapi.json"} {
		r := a.do("OPTIONS", path, nil, "Origin", "https://example.org", "Access-Control-Request-Method", "GET")
		if r.Status != http.StatusNoContent || r.Header.Get("Access-Control-Allow-Origin") != "*" ||
			!strings.Contains(r.Header.Get("Access-Control-Allow-Methods"), "GET") {
			t.Errorf("preflight %s: %d %v", path, r.Status, r.Header)
		}
		g := a.do("GET", path, nil, "Origin", "https://example.org")
		if g.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("GET %s (%d) without CORS", path, g.Status)
		}
	}
}

// TestAPI_BusDown checks that the database stays the truth when the bus is gone: writes still
// succeed (the failed publish is only logged), and the refresh endpoints, which only publish,
// answer 503.
func TestAPI_BusDown(t *testing.T) {
	a := newTestAPI(t, apiOptions{adminKey: testAdminKey})
	a.Bus.Close()
	registerCanister(t, a, idLedger, "token")
	if r := a.admin("PUT", "/canisters/"+string(idLedger), `{"name":"x"}`); r.Status != http.StatusOK {
		t.Fatalf("update: %d %s", r.Status, r.Body)
	}
	for _, path := range []string{"/canisters/" + string(idLedger) + "/refresh", "/system/refresh"} {
		if r := a.admin("POST", path, nil); r.Status != http.StatusServiceUnavailable || r.ErrorCode(t) != "unavailable" {
			t.Errorf("POST %s: %d %s", path, r.Status, r.Body)
		}
	}
	if r := a.admin("DELETE", "/canisters/"+string(idLedger), nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
}

func TestAPI_Refresh(t *testing.T) {
	a := newTestAPI(t, apiOptions{adminKey: testAdminKey})
	registerCanister(t, a, idLedger, "token")
	ev := a.listen()
	r := a.admin("POST", "/canisters/"+string(idLedger)+"/refresh", nil)
	if r.Status != http.StatusAccepted || !strings.Contains(string(r.Body), `"canister_id":"`+string(idLedger)+`"`) {
		t.Fatalf("got %d %s", r.Status, r.Body)
	}
	if req := ev.nextRefresh(t); req.CanisterID != string(idLedger) {
		t.Fatalf("refresh %+v", req)
	}
	r = a.admin("POST", "/system/refresh", nil)
	if r.Status != http.StatusAccepted || !strings.Contains(string(r.Body), `"scope":"all"`) {
		t.Fatalf("got %d %s", r.Status, r.Body)
	}
	if req := ev.nextRefresh(t); req.CanisterID != "" {
		t.Fatalf("refresh all %+v", req)
	}
	if r := a.admin("POST", "/canisters/"+string(idMiner)+"/refresh", nil); r.Status != 404 {
		t.Fatalf("unknown: %d %s", r.Status, r.Body)
	}
}
