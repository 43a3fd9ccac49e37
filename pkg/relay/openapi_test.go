package relay_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"canistry/pkg/openapi"
	"canistry/pkg/openapi/openapitest"
)

// TestOpenAPI_RelayReplies validates the relay's real replies, one of every kind, against the
// notifier's OpenAPI document (openapi.Notifier, which the notifier serves).
func TestOpenAPI_RelayReplies(t *testing.T) {
	raw, err := openapi.Notifier()
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, backends[0].target(t), fixtureOpts{localDev: true, fields: `, "timeout": "200ms", "max_request_bytes": 64`, rate: 0.001, burst: 2})
	doc := openapitest.Load(t, raw, "http://"+f.addrs[0])
	seen := map[int]bool{}
	for _, tc := range []struct {
		method, path, key, body string
		header                  map[string]string
	}{
		{"POST", "/relay/api/echo", callerKey, `{}`, map[string]string{"Idempotency-Key": "a"}},
		{"GET", "/relay/api/redirect", callerKey, "", nil},                                              // 502, stored
		{"POST", "/relay/api/slow?ms=3000", callerKey, `{}`, map[string]string{"Idempotency-Key": "a"}}, // the stored 200 again
		{"GET", "/relay/api/a%2Fb", callerKey, "", nil},
		{"GET", "/relay/api/echo", "wrong", "", nil},
		{"GET", "/relay/none/echo", callerKey, "", nil},
		{"PATCH", "/relay/api/echo", callerKey, `{}`, nil},
		{"POST", "/relay/api/echo", callerKey, strings.Repeat("x", 100), nil},
		{"POST", "/relay/api/echo", callerKey, `{}`, map[string]string{"Idempotency-Key": "new", "Content-Type": "nonsense/"}},
		{"PUT", "/relay/api/echo", callerKey, `{}`, nil}, // 429: the rate limit's one token is spent
	} {
		req, _ := http.NewRequest(tc.method, "http://"+f.addrs[0]+tc.path, strings.NewReader(tc.body))
		req.Header.Set("X-API-Key", tc.key)
		req.Header.Set("Content-Type", "application/json")
		for k, v := range tc.header {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		seen[res.StatusCode] = true
		_, err = doc.Check(t.Context(), req, res.StatusCode, res.Header, body)
		if errors.Is(err, openapitest.ErrNotRouted) {
			t.Fatal(err)
		}
		if err != nil {
			t.Errorf("%s %s → %d does not match the document: %v\n%s", tc.method, tc.path, res.StatusCode, err, body)
		}
	}
	for _, s := range []int{200, 400, 401, 404, 405, 413, 415, 429, 502} {
		if !seen[s] {
			t.Errorf("no reply with status %d was validated", s)
		}
	}
}
