package httpapi_test

import (
	"bytes"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestOpenAPI_EveryRoute calls every operation of openapi.json through the real router (each
// reply validated against the document by testAPI.do) and fails if an operation was never
// exercised, or if the router serves a route the document does not describe.
func TestOpenAPI_EveryRoute(t *testing.T) {
	a := newTestAPI(t, apiOptions{adminKey: testAdminKey, notifierURL: downNotifierURL(t)})
	seedObserved(t, a)
	seedWallet(t, a)
	note := fmt.Sprint(seedNotifications(t, a, 1)[0].ID)
	relayCall := fmt.Sprint(seedRelayCalls(t, a, 1)[0].ID)
	id, miner, hash := string(idLedger), string(idMiner), strings.Repeat("d", 64)
	calls := []struct{ method, path, body string }{
		{"GET", "/healthz", ""}, {"GET", "/readyz", ""}, {"GET", "/metrics", ""},
		{"GET", "/openapi.json", ""}, {"GET", "/docs", ""}, {"GET", "/", ""}, {"GET", "/system/status", ""},
		{"GET", "/canisters?limit=2", ""}, {"GET", "/canisters/" + id, ""}, {"GET", "/canisters/" + id + "/history", ""},
		{"PUT", "/canisters/" + id, `{"description":"changed"}`},
		{"POST", "/canisters/" + id + "/refresh", ""}, {"POST", "/system/refresh", ""},
		{"GET", "/tokens", ""}, {"GET", "/tokens/" + id, ""}, {"GET", "/tokens/" + id + "/logo", ""},
		{"GET", "/miners", ""}, {"GET", "/miners/" + miner, ""}, {"GET", "/miners/by-token/" + id, ""},
		{"GET", "/miners/" + miner + "/stats?from=2025-03-01T11:00:00Z", ""},
		{"POST", "/module-hashes", `{"hash":"` + hash + `","name":"x"}`}, {"GET", "/module-hashes", ""},
		{"PUT", "/module-hashes/" + hash, `{"name":"y"}`}, {"DELETE", "/module-hashes/" + hash, ""},
		{"GET", "/notifications?limit=1", ""}, {"GET", "/notifications/" + note, ""},
		{"GET", "/canisters/" + id + "/cycles", ""},
		{"GET", "/wallets", ""}, {"GET", "/wallets/" + string(idWallet), ""}, {"GET", "/wallets/" + string(idWallet) + "/balances", ""},
		{"POST", "/discover/sns", ""}, {"GET", "/discover/sns", ""},
		{"GET", "/tokens/" + id + "/mining", ""}, {"GET", "/tokens/" + id + "/mining/series", ""}, {"GET", "/tokens/" + id + "/solutions", ""},
		{"GET", "/ws", ""}, {"GET", "/ws/client.js", ""}, {"GET", "/ws/client.d.ts", ""}, {"GET", "/ws-status", ""}, {"GET", "/test", ""}, {"POST", "/miner-notifications", "{}"},
		{"POST", "/webhooks", `{"url":"https://example.com/hook","events":["solution_found"]}`}, {"GET", "/webhooks", ""},
		{"GET", "/webhooks/1", ""}, {"GET", "/webhooks/1/deliveries", ""}, {"POST", "/webhooks/1/enable", ""}, {"DELETE", "/webhooks/1", ""},
		{"DELETE", "/canisters/" + string(idWallet), ""},
		{"GET", "/relay/calls", ""}, {"GET", "/relay/calls/" + relayCall, ""},
		{"GET", "/relay/api/echo", ""}, {"POST", "/relay/api/echo", "{}"}, {"PUT", "/relay/api/echo", "{}"},
		{"PATCH", "/relay/api/echo", "{}"}, {"DELETE", "/relay/api/echo", ""},
	}
	for _, c := range calls {
		var body any
		if c.body != "" {
			body = c.body
		}
		if r := a.admin(c.method, c.path, body); r.Status >= 300 && r.Status != http.StatusBadGateway {
			t.Errorf("%s %s: %d %s", c.method, c.path, r.Status, r.Body)
		}
	}
	for _, path := range []string{"/canisters", "/canisters/" + id, "/canisters/" + id + "/history", "/tokens", "/tokens/" + id,
		"/tokens/" + id + "/logo", "/miners", "/miners/" + miner, "/miners/" + miner + "/stats", "/miners/by-token/" + id,
		"/module-hashes", "/system/status", "/openapi.json", "/notifications", "/notifications/" + note, "/canisters/" + id + "/cycles",
		"/wallets", "/wallets/" + string(idWallet), "/wallets/" + string(idWallet) + "/balances", "/discover/sns",
		"/tokens/" + id + "/mining", "/tokens/" + id + "/mining/series", "/tokens/" + id + "/solutions"} {
		a.do("OPTIONS", path, nil)
	}
	a.admin("POST", "/canisters", `{"canister_id":"`+string(idWallet)+`","kind":"wallet"}`)

	var missing []string
	for path, item := range a.doc().Paths.Map() {
		for method, op := range item.Operations() {
			if !a.sawOperation(op.OperationID) {
				missing = append(missing, method+" "+path+" ("+op.OperationID+")")
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("operations never exercised:\n%s", strings.Join(missing, "\n"))
	}
}

// TestOpenAPI_CatchesDrift makes sure the validation used everywhere is not vacuous: a reply
// with an undocumented field, a wrong type, or an undocumented status fails it.
func TestOpenAPI_CatchesDrift(t *testing.T) {
	a := newTestAPI(t, apiOptions{adminKey: testAdminKey})
	registerCanister(t, a, idLedger, "token")
	good := a.do("GET", "/canisters/"+string(idLedger), nil)
	req, _ := http.NewRequest("GET", a.URL+"/canisters/"+string(idLedger), nil)
	check := func(status int, body []byte) error {
		_, err := a.openapi.Check(t.Context(), req, status, good.Header, body)
		return err
	}
	if err := check(200, good.Body); err != nil {
		t.Fatalf("the real reply fails: %v", err)
	}
	for name, body := range map[string][]byte{
		"ExtraField": bytes.Replace(good.Body, []byte(`{`), []byte(`{"owner":"x",`), 1),
		"WrongType":  bytes.Replace(good.Body, []byte(`"stale":true`), []byte(`"stale":"yes"`), 1),
		"Missing":    bytes.Replace(good.Body, []byte(`"verified":false,`), nil, 1),
	} {
		if err := check(200, body); err == nil {
			t.Errorf("%s: drifted reply passed validation", name)
		}
	}
	if err := check(418, []byte(`{}`)); err == nil {
		t.Error("undocumented status passed validation")
	}
}

func (a *testAPI) doc() *openapi3.T { return a.openapi.Spec }

func (a *testAPI) sawOperation(op string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k := range a.seen {
		if strings.HasPrefix(k, op+" ") {
			return true
		}
	}
	return false
}
