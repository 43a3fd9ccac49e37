package main

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"canistry/pkg/lifecycle/runtest"
	"canistry/pkg/store/pgtest"
)

// TestRun_Postgres: the api on DATABASE_URL migrates an empty PostgreSQL database, serves
// REST from it, says so on /readyz and /system/status, and never shows the URL's password.
func TestRun_Postgres(t *testing.T) {
	db := pgtest.New(t).Database(t)
	const secret = "pw-never-logged-0123"
	env := baseEnv(t)
	const adminKey = "run-test-admin-key-0123456789abcdef"
	env["ADMIN_API_KEY"] = adminKey
	env["DATABASE_URL"] = strings.Replace(db, "postgres://postgres@", "postgres://postgres:"+secret+"@", 1)
	env["DATABASE_MAX_CONNS"] = "4"
	p := runtest.Start(t, run, env)

	if code, body := get(t, p.URL("/readyz")); code != http.StatusOK || string(body) != `{"status":"ready","database":"postgres"}` {
		t.Errorf("/readyz = %d %s", code, body)
	}
	do := func(method, path, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, p.URL(path), strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+adminKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	const id = "ryjl3-tyaaa-aaaaa-aaaba-cai"
	if code, body := do("POST", "/canisters", `{"canister_id":"`+id+`","kind":"token","name":"ledger"}`); code != http.StatusCreated {
		t.Fatalf("POST /canisters = %d %s", code, body)
	}
	if code, body := do("POST", "/canisters", `{"canister_id":"`+id+`","kind":"token"}`); code != http.StatusConflict {
		t.Errorf("second POST /canisters = %d %s, want 409", code, body)
	}
	if code, body := do("GET", "/canisters?q=LEDGER", ""); code != http.StatusOK || !strings.Contains(body, id) {
		t.Errorf("GET /canisters?q=LEDGER = %d %s", code, body)
	}
	code, status := do("GET", "/system/status", "")
	if code != http.StatusOK || !strings.Contains(status, `"backend":"postgres"`) || strings.Contains(status, secret) {
		t.Errorf("/system/status = %d %s", code, status)
	}
	if strings.Contains(p.Log(), secret) {
		t.Error("the log shows the database password")
	}
}
