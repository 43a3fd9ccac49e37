package httpapi_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"canistry/pkg/openapi"
)

// docParamPattern returns the pattern of query parameter name of GET path in the served document.
func docParamPattern(t *testing.T, path, name string) *regexp.Regexp {
	t.Helper()
	var doc struct {
		Paths map[string]struct {
			Get struct {
				Parameters []struct {
					Name, In string
					Schema   struct{ Pattern string }
				}
			}
		}
	}
	if err := json.Unmarshal(openapi.API, &doc); err != nil {
		t.Fatal(err)
	}
	for _, p := range doc.Paths[path].Get.Parameters {
		if p.Name == name && p.In == "query" && p.Schema.Pattern != "" {
			return regexp.MustCompile(p.Schema.Pattern)
		}
	}
	t.Fatalf("GET %s documents no pattern for %s", path, name)
	return nil
}

// TestAPI_StaleAfterGrammar: stale_after takes the configuration's durations (Go durations and
// whole days, as STATS_RETENTION=30d), from 1s to 365d, on every read that has it; whatever the
// api accepts matches the documented pattern.
func TestAPI_StaleAfterGrammar(t *testing.T) {
	a := newTestAPI(t, apiOptions{adminKey: testAdminKey})
	seedObserved(t, a)
	id := string(idLedger)
	for _, tc := range []struct {
		value string
		want  int
	}{
		{"2d", 200}, {"30d", 200}, {"365d", 200}, {"1s", 200}, {"10m", 200}, {"1h30m", 200}, {"1.5h", 200}, {"8760h", 200},
		{"366d", 400}, {"0d", 400}, {"0s", 400}, {"500ms", 400}, {"-1d", 400}, {"1.5d", 400}, {"d", 400}, {"2 d", 400},
		{"2D", 400}, {"forever", 400}, {"", 400},
	} {
		pattern := docParamPattern(t, "/canisters/{id}", "stale_after")
		for _, path := range []string{"/canisters/" + id, "/canisters", "/tokens", "/tokens/" + id, "/miners", "/miners/by-token/" + id} {
			t.Run(tc.value+path, func(t *testing.T) {
				r := a.do("GET", path+"?stale_after="+strings.ReplaceAll(tc.value, " ", "+"), nil)
				if r.Status != tc.want {
					t.Fatalf("stale_after=%q on %s: %d %s, want %d", tc.value, path, r.Status, r.Body, tc.want)
				}
				if tc.want == 400 && r.ErrorCode(t) != "invalid" {
					t.Errorf("code %q", r.ErrorCode(t))
				}
				if tc.want == 200 && !pattern.MatchString(tc.value) {
					t.Errorf("accepted %q does not match the documented pattern %s", tc.value, pattern)
				}
			})
		}
	}
}

// TestAPI_WritesRefuseQuery: one rule for query parameters, reads and writes alike: a route
// refuses any it does not list, and no write lists one. The refusal is the one error shape,
// before the admin key is looked at, and nothing is written.
func TestAPI_WritesRefuseQuery(t *testing.T) {
	a := newTestAPI(t, apiOptions{adminKey: testAdminKey})
	seedObserved(t, a)
	id, hash, fresh := string(idLedger), strings.Repeat("e", 64), "6xkho-mqaaa-aaaaa-aabgq-cai" // fresh: not registered
	for _, tc := range []struct{ method, path, body string }{
		{"POST", "/canisters?dry_run=1", `{"canister_id":"` + fresh + `","kind":"wallet"}`},
		{"PUT", "/canisters/" + id + "?name=x", `{"description":"never"}`},
		{"DELETE", "/canisters/" + id + "?force", ""},
		{"POST", "/canisters/" + id + "/refresh?now=1", ""},
		{"POST", "/system/refresh?scope=all", ""},
		{"POST", "/module-hashes?x=1", `{"hash":"` + hash + `","name":"x"}`},
		{"PUT", "/module-hashes/" + hash + "?q=%zz", `{"name":"y"}`},
		{"DELETE", "/module-hashes/" + hash + "?a=1&b=2", ""},
		{"POST", "/webhooks?secret=1", `{"url":"https://example.com/hook"}`},
		{"DELETE", "/webhooks/1?x=", ""},
		{"POST", "/webhooks/1/enable?x=1", ""},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			for _, auth := range []bool{true, false} {
				var body any
				if tc.body != "" {
					body = tc.body
				}
				var r apiReply
				if auth {
					r = a.admin(tc.method, tc.path, body)
				} else {
					r = a.do(tc.method, tc.path, body)
				}
				if r.Status != 400 || r.ErrorCode(t) != "invalid" || !strings.Contains(string(r.Body), "query parameter") {
					t.Errorf("auth %v: %d %s, want 400 invalid naming the query", auth, r.Status, r.Body)
				}
			}
		})
	}
	var got struct{ Description string }
	a.do("GET", "/canisters/"+id, nil).JSON(t, &got)
	if got.Description == "never" {
		t.Error("a refused write changed the canister")
	}
	if r := a.do("GET", "/canisters/"+fresh, nil); r.Status != 404 {
		t.Errorf("a refused write registered a canister: %d", r.Status)
	}
}
