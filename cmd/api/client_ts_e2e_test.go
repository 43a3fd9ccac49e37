package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"canistry/pkg/lifecycle/runtest"
)

// tsRead is a JSON read whose real reply is type-checked: the document (api or notifier), the
// path as documented, and the request made.
type tsRead struct {
	doc, path, url string
	admin          bool
}

// checkTypeScriptTypes generates TypeScript types from both served documents with
// openapi-typescript and type-checks (tsc --strict) a module that assigns each real JSON reply
// of a read to the type of its route's 200 reply, so that a field the document lacks (an
// excess property), a missing required one or a wrong type fails. Every GET whose 200 reply
// is JSON must be covered.
func checkTypeScriptTypes(t *testing.T, w *clientWorld, docs map[string][]byte) {
	pkg, err := filepath.Abs(filepath.Join("testdata", "clients", "ts"))
	if err != nil {
		t.Fatal(err)
	}
	node := runtest.NodePackages(t, pkg) // package-lock.json pins openapi-typescript and typescript
	dir := t.TempDir()
	for name, doc := range docs {
		writeFile(t, filepath.Join(dir, name+".json"), doc, 0o644)
		gen := exec.CommandContext(t.Context(), node, filepath.Join(pkg, "node_modules", "openapi-typescript", "bin", "cli.js"),
			filepath.Join(dir, name+".json"), "--output", filepath.Join(dir, name+".ts"))
		gen.Env = append(os.Environ(), "NO_COLOR=1")
		runtest.Run(t, gen)
	}
	reads := tsReads(t, w)
	checkTSCoverage(t, docs, reads)
	var src strings.Builder
	src.WriteString("import type { paths as api } from \"./api\";\nimport type { paths as notifier } from \"./notifier\";\n\n")
	for i, r := range reads {
		var header []string
		if r.admin {
			header = []string{"Authorization", "Bearer " + dashboardKey}
		}
		code, ctype, body := readAll(t, r.url, header...)
		if code != http.StatusOK || !strings.HasPrefix(ctype, "application/json") {
			t.Fatalf("GET %s: %d %s %.200s", r.url, code, ctype, body)
		}
		fmt.Fprintf(&src, "// GET %s\nexport const reply%d: %s[%q][\"get\"][\"responses\"][200][\"content\"][\"application/json\"] = %s;\n\n",
			r.url, i, r.doc, r.path, body)
	}
	writeFile(t, filepath.Join(dir, "replies.ts"), []byte(src.String()), 0o644)
	cfg := fmt.Sprintf(`{"extends": %q, "files": ["replies.ts"]}`, filepath.Join(pkg, "tsconfig.json"))
	writeFile(t, filepath.Join(dir, "tsconfig.json"), []byte(cfg), 0o644)
	tsc := exec.CommandContext(t.Context(), node, filepath.Join(pkg, "node_modules", "typescript", "bin", "tsc"), "-p", dir)
	if out, err := tsc.CombinedOutput(); err != nil {
		t.Errorf("real replies do not type-check against the generated TypeScript types: %v\n%s", err, out)
	}
}

// tsReads lists the JSON reads to capture, with the ids of the world (the notification and the
// webhook the Go client's writes made, when they exist).
func tsReads(t *testing.T, w *clientWorld) []tsRead {
	t.Helper()
	api, ntf := w.api.URL(""), w.notifierURL
	reads := []tsRead{
		{"api", "/healthz", api + "/healthz", false}, {"api", "/readyz", api + "/readyz", false},
		{"api", "/openapi.json", api + "/openapi.json", false}, {"api", "/system/status", api + "/system/status", false},
		{"api", "/canisters", api + "/canisters", false}, {"api", "/canisters/{id}", api + "/canisters/" + string(w.token), false},
		{"api", "/canisters/{id}/history", api + "/canisters/" + string(w.changed) + "/history", false},
		{"api", "/canisters/{id}/cycles", api + "/canisters/" + string(w.holed) + "/cycles", false},
		{"api", "/tokens", api + "/tokens", false}, {"api", "/tokens/{id}", api + "/tokens/" + string(w.token), false},
		{"api", "/miners", api + "/miners", false}, {"api", "/miners/{id}", api + "/miners/" + string(w.miner), false},
		{"api", "/miners/{id}/stats", api + "/miners/" + string(w.miner) + "/stats?from=" + time.Now().Add(-48*time.Hour).UTC().Format(time.RFC3339), false},
		{"api", "/miners/by-token/{token_id}", api + "/miners/by-token/" + string(w.token), false},
		{"api", "/module-hashes", api + "/module-hashes", false}, {"api", "/notifications", api + "/notifications", false},
		{"api", "/ws-status", api + "/ws-status", false}, {"api", "/webhooks", api + "/webhooks", true},
		{"api", "/relay/calls", api + "/relay/calls", true},
		{"api", "/wallets", api + "/wallets", false}, {"api", "/wallets/{id}", api + "/wallets/" + string(w.wallet), false},
		{"api", "/wallets/{id}/balances", api + "/wallets/" + string(w.wallet) + "/balances", false},
		{"api", "/discover/sns", api + "/discover/sns", false},
		// the solution the Go client's writes sent (TypeScript runs after Go in the same world)
		{"api", "/tokens/{id}/mining", api + "/tokens/" + string(w.token) + "/mining", false},
		{"api", "/tokens/{id}/mining/series", api + "/tokens/" + string(w.token) + "/mining/series", false},
		{"api", "/tokens/{id}/solutions", api + "/tokens/" + string(w.token) + "/solutions", false},
		{"notifier", "/healthz", ntf + "/healthz", false}, {"notifier", "/readyz", ntf + "/readyz", false},
		{"notifier", "/ws-status", ntf + "/ws-status", false}, {"notifier", "/openapi.json", ntf + "/openapi.json", false},
	}
	var notes struct{ Items []struct{ ID int64 } }
	if getOK(api+"/notifications", &notes) && len(notes.Items) > 0 {
		reads = append(reads, tsRead{"api", "/notifications/{id}", fmt.Sprintf("%s/notifications/%d", api, notes.Items[0].ID), false})
	}
	code, _, body := readAll(t, api+"/webhooks", "Authorization", "Bearer "+dashboardKey)
	var hooks struct{ Items []struct{ ID int64 } }
	if code == http.StatusOK && json.Unmarshal(body, &hooks) == nil && len(hooks.Items) > 0 {
		id := hooks.Items[0].ID
		reads = append(reads, tsRead{"api", "/webhooks/{id}", fmt.Sprintf("%s/webhooks/%d", api, id), true},
			tsRead{"api", "/webhooks/{id}/deliveries", fmt.Sprintf("%s/webhooks/%d/deliveries", api, id), true})
	}
	return reads
}

// tsNoReply are the JSON reads this world cannot answer 200, with the reason.
var tsNoReply = map[string]string{
	"api /relay/calls/{id}": "no relay route in this world, so no call; pkg/relay validates its replies against the document",
}

// checkTSCoverage fails for each GET of a document whose 200 reply is JSON and that reads
// does not capture (but tsNoReply).
func checkTSCoverage(t *testing.T, docs map[string][]byte, reads []tsRead) {
	t.Helper()
	have := map[string]bool{}
	for _, r := range reads {
		have[r.doc+" "+r.path] = true
	}
	var missing []string
	for name, doc := range docs {
		var d struct {
			Paths map[string]struct {
				Get *struct {
					Responses map[string]struct {
						Content map[string]json.RawMessage `json:"content"`
					} `json:"responses"`
				} `json:"get"`
			} `json:"paths"`
		}
		if err := json.Unmarshal(doc, &d); err != nil {
			t.Fatal(err)
		}
		for path, item := range d.Paths {
			if item.Get == nil || item.Get.Responses["200"].Content["application/json"] == nil {
				continue
			}
			if !have[name+" "+path] && tsNoReply[name+" "+path] == "" {
				missing = append(missing, name+" GET "+path)
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("JSON reads whose replies are not type-checked (add them to tsReads):\n%s", strings.Join(missing, "\n"))
	}
}
