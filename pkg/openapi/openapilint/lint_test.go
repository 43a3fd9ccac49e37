// Package openapilint_test lints the OpenAPI documents the api and the notifier serve with
// Redocly's CLI (@redocly/cli, pinned in package-lock.json), under redocly.yaml: Redocly's
// recommended rules, with the exceptions that file explains. Any error or warning fails.
package openapilint_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"canistry/pkg/lifecycle/runtest"
	"canistry/pkg/notify"
)

// TestRedoclyLint writes both documents as served to a temporary directory and runs
// `redocly lint` over them. In CI (CI set) a missing node or npm fails the test; elsewhere it
// skips.
func TestRedoclyLint(t *testing.T) {
	node := runtest.NodePackages(t, ".") // package-lock.json pins every package
	dir := t.TempDir()
	docs := map[string][]byte{"api.json": servedAPIDocument(t), "notifier.json": servedNotifierDocument(t)}
	var args []string
	for name, doc := range docs {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, doc, 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, path)
	}
	cmd := exec.CommandContext(t.Context(), node, append([]string{filepath.Join("node_modules", "@redocly", "cli", "bin", "cli.js"),
		"lint", "--config", "redocly.yaml", "--format", "json"}, args...)...)
	cmd.Env = append(os.Environ(), "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true", "NO_COLOR=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	type report struct {
		Totals   struct{ Errors, Warnings int }
		Problems []struct {
			RuleID   string `json:"ruleId"`
			Severity string
			Message  string
			Location []struct {
				Source  struct{ Ref string }
				Pointer string
			}
		}
	}
	// One JSON report per document, one after the other.
	dec, reports := json.NewDecoder(bytes.NewReader(stdout.Bytes())), 0
	for ; ; reports++ {
		var r report
		if err := dec.Decode(&r); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("redocly lint: %v (%v)\nstdout: %s\nstderr: %s", runErr, err, stdout.String(), stderr.String())
		}
		for _, p := range r.Problems {
			where := ""
			if len(p.Location) > 0 {
				where = filepath.Base(p.Location[0].Source.Ref) + p.Location[0].Pointer
			}
			t.Errorf("%s %s: %s (%s)", p.Severity, p.RuleID, p.Message, where)
		}
		if r.Totals.Errors+r.Totals.Warnings > 0 {
			t.Errorf("redocly lint: %d errors, %d warnings", r.Totals.Errors, r.Totals.Warnings)
		}
	}
	if reports != len(docs) || runErr != nil {
		t.Errorf("redocly lint: %d reports for %d documents (%v)\n%s", reports, len(docs), runErr, stderr.String())
	}
}

// servedAPIDocument is the api's document: the file the api embeds (openapi.API) and serves unchanged.
func servedAPIDocument(t *testing.T) []byte {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "openapi.json"))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// servedNotifierDocument is what the notifier's router answers on GET /openapi.json.
func servedNotifierDocument(t *testing.T) []byte {
	t.Helper()
	h, err := notify.NewHandler(notify.HTTPDeps{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	res, err := http.Get(srv.URL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	doc, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("notifier /openapi.json: %d %v", res.StatusCode, err)
	}
	return doc
}
