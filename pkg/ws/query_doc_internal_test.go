package ws

import (
	"encoding/json"
	"slices"
	"testing"

	"canistry/pkg/openapi"
)

// TestQueryParams_Documented: the query parameters /ws understands are exactly the ones the
// OpenAPI document lists for GET /ws (last was missing once); an unknown one is a 400.
func TestQueryParams_Documented(t *testing.T) {
	var doc struct {
		Paths map[string]struct {
			Get struct {
				Parameters []struct{ Name, In string }
			}
		}
	}
	if err := json.Unmarshal(openapi.API, &doc); err != nil {
		t.Fatal(err)
	}
	var documented []string
	for _, p := range doc.Paths["/ws"].Get.Parameters {
		if p.In == "query" {
			documented = append(documented, p.Name)
		}
	}
	slices.Sort(documented)
	served := slices.Sorted(slices.Values(queryParams))
	if !slices.Equal(documented, served) {
		t.Errorf("GET /ws documents %v, serves %v", documented, served)
	}
	for _, q := range []struct {
		raw   string
		valid bool
	}{{"last=5", true}, {"last=1000", true}, {"last=0", false}, {"last=1001", false}, {"lst=5", false}, {"since=1&last=2", false}} {
		if _, err := parseRequest(q.raw, true); (err == nil) != q.valid {
			t.Errorf("?%s: %v, want valid %v", q.raw, err, q.valid)
		}
	}
}
