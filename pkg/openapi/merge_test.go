package openapi_test

import (
	"encoding/json"
	"strings"
	"testing"
	"testing/fstest"

	"canistry/pkg/openapi"
)

func TestMerge(t *testing.T) {
	base := `{"openapi":"3.1.0","tags":[{"name":"a"}],"paths":{"/x":{}},"components":{"schemas":{"X":{"type":"string"}}}}`
	cases := []struct {
		name, frag, wantErr string
		notifier            int
	}{
		{name: "adds", frag: `{"paths":{"/y":{}},"components":{"schemas":{"Y":{"type":"integer"}},"parameters":{"P":{}}},"tags":[{"name":"b"}],"x-notifier-paths":["/y"]}`, notifier: 1},
		{name: "duplicate path", frag: `{"paths":{"/x":{}}}`, wantErr: `paths "/x" is already defined`},
		{name: "duplicate schema", frag: `{"components":{"schemas":{"X":{}}}}`, wantErr: `schemas "X" is already defined`},
		{name: "duplicate tag", frag: `{"tags":[{"name":"a"}]}`, wantErr: `tag "a" is already defined`},
		{name: "unknown key", frag: `{"info":{}}`, wantErr: `unknown top-level key "info"`},
		{name: "not json", frag: `{`, wantErr: "parse parts/f.json"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{"parts/f.json": {Data: []byte(tc.frag)}, "parts/README.md": {Data: []byte("x")}}
			out, notifier, err := openapi.Merge([]byte(base), fsys)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Paths      map[string]any            `json:"paths"`
				Components map[string]map[string]any `json:"components"`
				Tags       []map[string]any          `json:"tags"`
			}
			if err := json.Unmarshal(out, &doc); err != nil {
				t.Fatal(err)
			}
			if doc.Paths["/x"] == nil || doc.Paths["/y"] == nil || doc.Components["schemas"]["Y"] == nil ||
				doc.Components["parameters"]["P"] == nil || len(doc.Tags) != 2 || len(notifier) != tc.notifier {
				t.Fatalf("merged = %s, notifier %v", out, notifier)
			}
		})
	}
}

// The served document is the merge of the shipped fragments; it must load (a bad fragment panics
// at start, so this also guards every binary).
func TestAPI_Merged(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(openapi.API, &doc); err != nil {
		t.Fatal(err)
	}
	if _, err := openapi.Notifier(); err != nil {
		t.Fatal(err)
	}
}
