package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"canistry/pkg/lifecycle/runtest"
)

// startSecurityAPI runs the api with the admin key adminDo sends.
func startSecurityAPI(t *testing.T, extra map[string]string) *runtest.Proc {
	t.Helper()
	env := baseEnv(t)
	env["ADMIN_API_KEY"] = "admin-key-0123456789"
	for k, v := range extra {
		env[k] = v
	}
	return runtest.Start(t, run, env)
}

// errorCode returns the code of a JSON error body.
func errorCode(t *testing.T, body []byte) string {
	t.Helper()
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("not an error body: %s", body)
	}
	return e.Error.Code
}

// A webhook URL whose IPv6 host embeds a refused IPv4 address, or whose port is 0 or past
// 65535, is refused with 400 invalid when the endpoint is created.
func TestRun_WebhookURLRefused(t *testing.T) {
	p := startSecurityAPI(t, nil)
	for _, u := range []string{
		"https://[64:ff9b::7f00:1]/hook",    // NAT64 of 127.0.0.1
		"https://[64:ff9b::a9fe:a9fe]/hook", // NAT64 of 169.254.169.254
		"https://[64:ff9b:1::808:808]/hook", // local-use NAT64
		"https://[2002:c0a8:101::]/hook",    // 6to4 of 192.168.1.1
		"https://[::10.0.0.1]/hook",         // IPv4-compatible 10.0.0.1
		"https://example.com:0/hook",        // port 0
		"https://example.com:65536/hook",    // port past 65535
	} {
		code, body := adminDo(t, http.MethodPost, p.URL("/webhooks"), `{"url":"`+u+`"}`)
		if code != http.StatusBadRequest || errorCode(t, body) != "invalid" {
			t.Errorf("POST /webhooks %s = %d %s, want 400 invalid", u, code, body)
		}
	}
	if code, body := adminDo(t, http.MethodPost, p.URL("/webhooks"), `{"url":"https://[64:ff9b::808:808]/hook"}`); code != http.StatusCreated {
		t.Errorf("POST /webhooks to NAT64 of a public address = %d %s, want 201", code, body)
	}
}

// Every REST write refuses a body with a key twice in one object (400 invalid): the first value
// or the last, two readers could count either.
func TestRun_DuplicateKeysRefused(t *testing.T) {
	p := startSecurityAPI(t, nil)
	hash := strings.Repeat("ab", 32)
	for _, tc := range []struct{ method, path, body string }{
		{http.MethodPost, "/webhooks", `{"url":"https://example.com/a","url":"https://example.com/b"}`},
		{http.MethodPost, "/webhooks", `{"url":"https://example.com/a","URL":"https://example.com/b"}`},
		{http.MethodPost, "/canisters", `{"canister_id":"ryjl3-tyaaa-aaaaa-aaaba-cai","kind":"token","kind":"miner"}`},
		{http.MethodPut, "/canisters/ryjl3-tyaaa-aaaaa-aaaba-cai", `{"kind":"token","kind":"miner"}`},
		{http.MethodPost, "/module-hashes", `{"hash":"` + hash + `","name":"a","name":"b"}`},
		{http.MethodPut, "/module-hashes/" + hash, `{"name":"a","name":"b"}`},
	} {
		code, body := adminDo(t, tc.method, p.URL(tc.path), tc.body)
		if code != http.StatusBadRequest || errorCode(t, body) != "invalid" || !strings.Contains(string(body), "appears twice") {
			t.Errorf("%s %s %s = %d %s, want 400 invalid naming the repeated key", tc.method, tc.path, tc.body, code, body)
		}
	}
}

// Wrong admin keys are throttled per source by the real api: after ADMIN_AUTH_FAILURES wrong
// keys within ADMIN_AUTH_WINDOW, 429 too_many with Retry-After, one WARN record, a counter.
func TestRun_AdminKeyThrottle(t *testing.T) {
	p := startSecurityAPI(t, map[string]string{"ADMIN_AUTH_FAILURES": "2", "ADMIN_AUTH_WINDOW": "10m"})
	send := func(key string) *http.Response {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, p.URL("/webhooks"), strings.NewReader(`{"url":"https://example.com/h"}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for i, want := range []int{http.StatusForbidden, http.StatusForbidden, http.StatusTooManyRequests, http.StatusTooManyRequests} {
		resp := send("wrong-admin-key-0123456789")
		if resp.StatusCode != want {
			t.Fatalf("wrong key %d = %d, want %d", i+1, resp.StatusCode, want)
		}
		if want == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
			t.Errorf("429 without Retry-After")
		}
	}
	if resp := send("admin-key-0123456789"); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("right key from the throttled source = %d, want 429", resp.StatusCode)
	}
	if _, body := get(t, p.URL("/metrics")); !strings.Contains(string(body), `canistry_admin_auth_failures_total{result="throttled"} 3`) {
		t.Errorf("metrics do not count 3 throttled attempts")
	}
	if err := p.Stop(t); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(p.Log(), "too many wrong keys"); n != 1 {
		t.Errorf("%d WARN records about the source, want 1:\n%s", n, p.Log())
	}
}

// The real api refuses an encoded slash in a path (never a match, never a 307 to the path
// without it) and query parameters on writes, reads and writes under one rule: 400 invalid in
// the one error shape, before the admin key is looked at.
func TestRun_PathAndQueryRefused(t *testing.T) {
	p := startSecurityAPI(t, nil)
	id, hash := "ryjl3-tyaaa-aaaaa-aaaba-cai", strings.Repeat("a", 64)
	admin := []string{"Authorization", "Bearer admin-key-0123456789", "Content-Type", "application/json"}
	slash, query := "encoded slash", "query parameter"
	runtest.CheckRefusals(t, p.URL(""), []runtest.Refusal{
		{Method: "PUT", Path: "/module-hashes/abc%2F", Header: admin, Body: `{"name":"x"}`, Want: 400, Code: "invalid", Says: slash},
		{Method: "GET", Path: "/canisters%2F" + id, Want: 400, Code: "invalid", Says: slash},
		{Method: "GET", Path: "/canisters/" + id + "%2fhistory", Want: 400, Code: "invalid", Says: slash},
		{Method: "GET", Path: "/healthz%2F", Want: 400, Code: "invalid", Says: slash},
		{Method: "GET", Path: "/ws%2F", Want: 400, Code: "invalid", Says: slash},
		{Method: "POST", Path: "/module-hashes?force=1", Header: admin, Body: `{"hash":"` + hash + `","name":"x"}`, Want: 400, Code: "invalid", Says: query},
		{Method: "PUT", Path: "/module-hashes/" + hash + "?x", Body: `{"name":"x"}`, Want: 400, Code: "invalid", Says: query},
		{Method: "POST", Path: "/system/refresh?scope=all", Header: admin, Want: 400, Code: "invalid", Says: query},
		{Method: "GET", Path: "/canisters?kinds=token", Want: 400, Code: "invalid", Says: query},
	})
}
