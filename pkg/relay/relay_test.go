package relay_test

import (
	"strings"
	"testing"
)

// TestStorm: 34 copies of one call, spread over two relays sharing the database, call the
// upstream once and get byte-identical replies, without and with Idempotency-Key; the
// upstream's volatile headers are not kept, its volatile fields are dropped.
func TestStorm(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			f := newFixture(t, be.target(t), fixtureOpts{relays: 2, localDev: true, fields: `, "drop_json_fields": ["/created", "/stable/volatile"]`})
			for i, tc := range []struct {
				name string
				req  []byte
				path string
			}{
				{"fingerprint", request("POST", "/relay/api/echo?a=1", nil, `{"amount": 1}`), "POST /echo"},
				{"idempotency-key", request("POST", "/relay/api/echo?a=2", map[string]string{"Idempotency-Key": "k-1"}, `{"amount": 2}`), "POST /echo"},
				{"get", request("GET", "/relay/api/echo", nil, ""), "GET /echo"},
			} {
				before := f.up.Calls(tc.path)
				reply := identical(t, storm(t, f.addrs, 34, tc.req), "200 OK")
				if got := f.up.Calls(tc.path) - before; got != 1 {
					t.Fatalf("%s: %d upstream calls, want 1", tc.name, got)
				}
				for _, banned := range []string{"X-Request-Id", "Set-Cookie", `"created"`, `"volatile"`, secret} {
					if strings.Contains(string(reply), banned) {
						t.Errorf("%s: reply %d holds %s: %s", tc.name, i, banned, reply)
					}
				}
			}
		})
	}
}
