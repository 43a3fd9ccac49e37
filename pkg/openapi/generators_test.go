package openapi_test

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"canistry/pkg/openapi"
)

// generatorProblems lists the schemas of doc that client generators mishandle, by JSON
// pointer: oapi-codegen v2.8.2 stops on a type list of two non-null types and binds a
// const or enum without a type as interface{}; openapi-typescript makes an object without
// properties or additionalProperties a Record<string, never>. (cmd/api's TestGeneratedClients
// runs the generators themselves; this is the fast check of the same rules.)
func generatorProblems(doc any) []string {
	var out []string
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch v := v.(type) {
		case map[string]any:
			_, hasConst := v["const"]
			_, hasEnum := v["enum"]
			typ, hasType := v["type"]
			if (hasConst || hasEnum) && !hasType {
				out = append(out, at+": const or enum without a type")
			}
			if list, ok := typ.([]any); ok {
				n := 0
				for _, x := range list {
					if x != "null" {
						n++
					}
				}
				if n > 1 {
					out = append(out, fmt.Sprintf("%s: type %v (use oneOf)", at, list))
				}
			}
			_, hasProps := v["properties"]
			_, hasAdd := v["additionalProperties"]
			if isObject(typ) && !hasProps && !hasAdd {
				out = append(out, at+": an object with neither properties nor additionalProperties")
			}
			for k, x := range v {
				if k != "example" && k != "examples" {
					walk(x, at+"/"+k)
				}
			}
		case []any:
			for i, x := range v {
				walk(x, fmt.Sprintf("%s/%d", at, i))
			}
		}
	}
	walk(doc, "#")
	sort.Strings(out)
	return out
}

func isObject(typ any) bool {
	if typ == "object" {
		return true
	}
	list, _ := typ.([]any)
	for _, x := range list {
		if x == "object" {
			return true
		}
	}
	return false
}

// TestDocuments_ForGenerators: both served documents (openapi.json with every fragment of
// parts/, and the notifier's cut) keep to the rules generators need; each rule catches its case.
func TestDocuments_ForGenerators(t *testing.T) {
	notifier, err := openapi.Notifier()
	if err != nil {
		t.Fatal(err)
	}
	for name, raw := range map[string][]byte{"api": openapi.API, "notifier": notifier} {
		var doc any
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		if p := generatorProblems(doc); len(p) > 0 {
			t.Errorf("the %s's document:\n%s", name, strings.Join(p, "\n"))
		}
	}
	for _, tc := range []struct{ schema, want string }{
		{`{"const":"*"}`, "const or enum without a type"},
		{`{"enum":["a","b"]}`, "const or enum without a type"},
		{`{"type":["string","array","null"],"items":{"type":"string"}}`, "use oneOf"},
		{`{"type":"object"}`, "neither properties nor additionalProperties"},
		{`{"type":["object","null"]}`, "neither properties nor additionalProperties"},
		{`{"type":["string","null"],"enum":["a",null]}`, ""},
		{`{"oneOf":[{"type":"string"},{"type":"array","items":{"type":"string"}},{"type":"null"}]}`, ""},
		{`{"type":"object","additionalProperties":true}`, ""},
	} {
		var schema any
		if err := json.Unmarshal([]byte(tc.schema), &schema); err != nil {
			t.Fatal(err)
		}
		got := strings.Join(generatorProblems(schema), "; ")
		if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.schema, got, tc.want)
		}
	}
}
