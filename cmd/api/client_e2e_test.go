package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aviate-labs/agent-go/principal"

	"canistry/pkg/ic/ictest"
	"canistry/pkg/registry"
)

// clientWorld is the dashboard's world (api in-process, notifier binary, real poller over the
// replica double) plus a fourth canister whose module was removed and whose controllers
// changed, so that its history holds both shapes of a change (a hash then null, two lists),
// and a fifth, a wallet with a balance in the token's ledger.
type clientWorld struct {
	*dashboardWorld
	changed    registry.CanisterID
	hashBefore string
	wallet     registry.CanisterID // a wallet holding clientBalance of the token
}

const clientBalance = "123456789"

func startClientWorld(t *testing.T) *clientWorld {
	t.Helper()
	w := &clientWorld{dashboardWorld: startDashboardWorld(t), changed: registry.CanisterID(ictest.CanisterID(4).Encode())}
	hash := bytes.Repeat([]byte{4}, 32)
	w.hashBefore = fmt.Sprintf("%x", hash)
	c := w.double.AddCanister(ictest.CanisterID(4), hash, ictest.CanisterID(100))
	body := fmt.Sprintf(`{"canister_id":%q,"kind":"other","name":"changing"}`, w.changed)
	if code, out := dashboardAdmin(t, "POST", w.api.URL("/canisters"), body); code != http.StatusCreated {
		t.Fatalf("register %s: %d %s", w.changed, code, out)
	}
	w.poller.Request(w.changed)
	waitFor(t, "the first observation of "+string(w.changed), func() bool {
		var got struct {
			ModuleHash *string `json:"module_hash"`
		}
		return getOK(w.api.URL("/canisters/"+string(w.changed)), &got) && got.ModuleHash != nil
	})
	c.SetModuleHash(nil)
	c.SetControllers(ictest.CanisterID(100), principal.AnonymousID)
	w.poller.Request(w.changed)
	waitFor(t, "both changes in the history of "+string(w.changed), func() bool {
		var got struct{ Items []struct{ Field string } }
		return getOK(w.api.URL("/canisters/"+string(w.changed)+"/history"), &got) && len(got.Items) >= 2
	})

	w.wallet = registry.CanisterID(ictest.CanisterID(6).Encode())
	w.double.AddCanister(ictest.CanisterID(6), bytes.Repeat([]byte{6}, 32), ictest.CanisterID(100))
	balance, _ := new(big.Int).SetString(clientBalance, 10)
	w.ledger.SetBalance(ictest.CanisterID(6), balance)
	body = fmt.Sprintf(`{"canister_id":%q,"kind":"wallet","name":"treasury"}`, w.wallet)
	if code, out := dashboardAdmin(t, "POST", w.api.URL("/canisters"), body); code != http.StatusCreated {
		t.Fatalf("register %s: %d %s", w.wallet, code, out)
	}
	w.poller.Request(w.wallet)
	waitFor(t, "the wallet's balance", func() bool {
		var got struct{ Balances []struct{ Amount string } }
		return getOK(w.api.URL("/wallets/"+string(w.wallet)), &got) && len(got.Balances) == 1 && got.Balances[0].Amount == clientBalance
	})
	return w
}

// getOK reports whether GET url answered 200 with JSON that decodes into v.
func getOK(url string, v any) bool {
	res, err := http.Get(url)
	if err != nil {
		return false
	}
	defer res.Body.Close()
	return res.StatusCode == http.StatusOK && json.NewDecoder(res.Body).Decode(v) == nil
}

// servedDocument is GET base/openapi.json.
func servedDocument(t *testing.T, base string) []byte {
	t.Helper()
	code, body := get(t, base+"/openapi.json")
	if code != http.StatusOK {
		t.Fatalf("GET %s/openapi.json: %d %s", base, code, body)
	}
	return body
}

// TestGeneratedClients generates clients from the documents the running api and notifier
// serve, with the generators API consumers use, and drives the running servers through them:
// oapi-codegen (pinned in scripts/tools/go.mod) for Go, openapi-typescript (pinned in
// testdata/clients/ts) for TypeScript. A document a generator cannot use, a reply a generated
// client cannot decode, or a read route the Go client does not call fails the test.
func TestGeneratedClients(t *testing.T) {
	w := startClientWorld(t)
	docs := map[string][]byte{"api": servedDocument(t, w.api.URL("")), "notifier": servedDocument(t, w.notifierURL)}
	t.Run("Go", func(t *testing.T) { checkGoClient(t, w, docs) })
	t.Run("TypeScript", func(t *testing.T) { checkTypeScriptTypes(t, w, docs) })
}

// checkGoClient generates package api and package notifier next to testdata/clients/go's
// driver in a temp module, builds it, runs it against the servers and checks its report.
func checkGoClient(t *testing.T, w *clientWorld, docs map[string][]byte) {
	dir := t.TempDir()
	src := filepath.Join("testdata", "clients", "go")
	files, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(src, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, f.Name()), b, 0o644)
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	for name, doc := range docs {
		writeFile(t, filepath.Join(dir, name+".json"), doc, 0o644)
		if err := os.Mkdir(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		gen := exec.CommandContext(t.Context(), "go", "tool", "-modfile=scripts/tools/go.mod", "oapi-codegen",
			"-generate", "types,client", "-package", name, "-o", filepath.Join(dir, name, name+".gen.go"), filepath.Join(dir, name+".json"))
		gen.Dir = root
		if out, err := gen.CombinedOutput(); err != nil {
			t.Fatalf("oapi-codegen cannot use the %s's document: %v\n%s", name, err, out)
		}
	}
	build := exec.CommandContext(t.Context(), "go", "build", "-o", "driver", ".")
	build.Dir, build.Env = dir, append(os.Environ(), "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("the generated clients do not build: %v\n%s", err, out)
	}
	cfg, err := json.Marshal(map[string]string{"API": w.api.URL(""), "Notifier": w.notifierURL, "AdminKey": dashboardKey,
		"NotifyKey": dashboardNotifyKey, "Token": string(w.token), "Miner": string(w.miner), "Holed": string(w.holed),
		"Hash": strings.Repeat("01", 32), "Changed": string(w.changed), "HashBefore": w.hashBefore,
		"Supply": dashboardSupply, "Cycles": dashboardCycles, "Wallet": string(w.wallet), "Balance": clientBalance})
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "world.json"), cfg, 0o600)
	run := exec.CommandContext(t.Context(), filepath.Join(dir, "driver"), filepath.Join(dir, "world.json"))
	var out, stderr bytes.Buffer
	run.Stdout, run.Stderr = &out, &stderr
	if err := run.Run(); err != nil {
		t.Fatalf("driver: %v\n%s%s", err, out.String(), stderr.String())
	}
	t.Logf("driver:\n%s", out.String())
	checkDriverReport(t, out.String(), docs)
}

// checkDriverReport fails each FAIL line, and each GET or OPTIONS operation of a served
// document that the driver never called successfully ("<operationId>" on the api,
// "notifier:<operationId>" on the notifier).
func checkDriverReport(t *testing.T, report string, docs map[string][]byte) {
	t.Helper()
	ok := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(report), "\n") {
		switch fields := strings.Fields(line); {
		case len(fields) == 3 && fields[0] == "ok":
			ok[fields[1]] = true
		default:
			t.Errorf("driver: %s", line)
		}
	}
	var missing []string
	for name, doc := range docs {
		for _, op := range operations(t, doc, "get", "options") {
			if name == "notifier" {
				op = "notifier:" + op
			}
			if !ok[op] {
				missing = append(missing, op)
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("read routes the generated Go client never called successfully (add them to testdata/clients/go):\n%s", strings.Join(missing, "\n"))
	}
	for _, write := range []string{"updateCanister", "createWebhook", "minerNotification", "notifier:minerNotification"} {
		if !ok[write] {
			t.Errorf("the write %s did not succeed through the generated client", write)
		}
	}
}

// operations returns the operationIds of doc's operations with the given methods.
func operations(t *testing.T, doc []byte, methods ...string) []string {
	t.Helper()
	var d struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, item := range d.Paths {
		for method, raw := range item {
			var op struct {
				OperationID string `json:"operationId"`
			}
			if slices.Contains(methods, method) && json.Unmarshal(raw, &op) == nil {
				out = append(out, op.OperationID)
			}
		}
	}
	sort.Strings(out)
	return out
}

// readAll GETs url (with header pairs) and returns the status, the Content-Type and the body.
func readAll(t *testing.T, url string, header ...string) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Header.Get("Content-Type"), body
}
