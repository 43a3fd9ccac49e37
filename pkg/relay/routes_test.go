package relay_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"canistry/pkg/relay"
)

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// TestParseRoutes: a valid file with defaults, and every invalid field named with its route,
// never with a secret's value.
func TestParseRoutes(t *testing.T) {
	rs, err := relay.ParseRoutes([]byte(`{"routes": [{"name": "pay", "upstream": "https://api.example.com/v1/",
		"methods": ["POST", "GET"], "api_keys": ["${K}"], "inject_headers": {"authorization": "Bearer ${S}"},
		"drop_json_fields": ["/created", "/a~1b/c~0d"]}]}`), env("K", "caller", "S", secret))
	if err != nil {
		t.Fatal(err)
	}
	r, _ := rs.Get("pay")
	if r.Upstream.String() != "https://api.example.com/v1" || strings.Join(r.Methods, ",") != "GET,POST" ||
		r.Timeout != relay.DefaultTimeout || r.GetTTL != relay.DefaultGetTTL || r.MaxResponse != relay.DefaultMaxResponseBytes ||
		strings.Join(r.Forward, ",") != "Content-Type,Accept" || strings.Join(r.Keep, ",") != "Content-Type" ||
		r.Inject[0].Name != "Authorization" || r.Inject[0].Value != "Bearer "+secret || fmt.Sprint(r.Drop) != "[[created] [a/b c~d]]" {
		t.Fatalf("route %+v", r)
	}
	route := func(fields string) string {
		return `{"routes": [{"name": "pay", "upstream": "https://api.example.com", "methods": ["POST"], "api_keys": ["k"]` + fields + `}]}`
	}
	for _, tc := range []struct{ file, want string }{
		{`[]`, `{"routes": [...]}`},
		{`{"routes": [], "extra": 1}`, `unknown field "extra"`},
		{`{}`, "routes is missing"},
		{route(`, "timeout": "5m"`), `route "pay" (routes[0]): timeout: must be a duration from 100ms to 2m0s`},
		{route(`, "inject_headers": {"X-Key": "${MISSING}"}`), `route "pay" (routes[0]): inject_headers["X-Key"]: ${MISSING} is not set`},
		{route(`, "inject_headers": {"Host": "x"}`), `inject_headers["Host"]: Host may not be used here`},
		{route(`, "forward_headers": ["X-API-Key"]`), `forward_headers[0]: X-Api-Key may not be used here`},
		{route(`, "response_headers": ["Date"]`), `response_headers[0]: Date may not be used here`},
		{route(`, "drop_json_fields": ["created"]`), `drop_json_fields[0]`},
		{route(`, "max_response_bytes": 3000000`), `max_response_bytes: must be from 1024 to 2000000`},
		{route(`, "max_request_bytes": 0`), `max_request_bytes: must be from 1 to 2000000`},
		{route(`, "get_ttl": "x"`), `get_ttl: must be a duration`},
		{route(`, "colour": "red"`), `route "pay" (routes[0]): json: unknown field "colour"`},
		{strings.Replace(route(""), `"POST"`, `"TRACE"`, 1), `methods: "TRACE" is not one of`},
		{strings.Replace(route(""), `"pay"`, `"calls"`, 1), `"calls" is reserved`},
		{strings.Replace(route(""), `"pay"`, `"Pay!"`, 1), `name: must be`},
		{strings.Replace(route(""), `https://api.example.com`, `http://api.example.com`, 1), `upstream: must be https`},
		{strings.Replace(route(""), `https://api.example.com`, `https://127.0.0.1`, 1), `upstream: points at a loopback address`},
		{strings.Replace(route(""), `https://api.example.com`, `https://api.example.com/?a=1`, 1), `upstream: must not have a query`},
		{strings.Replace(route(""), `["k"]`, `[]`, 1), `api_keys: at least one key`},
		{strings.Replace(route(""), `["k"]`, `["${NOPE}"]`, 1), `api_keys[0]: ${NOPE} is not set`},
		{`{"routes": [` + strings.Repeat(`{"name": "a", "upstream": "https://x.example", "methods": ["GET"], "api_keys": ["k"]},`, 2) + `{"name": "b"}]}`,
			`route "a" (routes[1]): name: used by an earlier route`},
	} {
		_, err := relay.ParseRoutes([]byte(tc.file), env("S", secret))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("file %s: error %v, want one containing %q", tc.file, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("error shows the secret: %v", err)
		}
	}
	// LOCAL_DEV allows http and loopback upstreams.
	if _, err := relay.ParseRoutes([]byte(route("")), env()); err != nil {
		t.Fatal(err)
	}
	local := strings.Replace(route(""), `https://api.example.com`, `http://127.0.0.1:9`, 1)
	if _, err := relay.ParseRoutes([]byte(local), env("LOCAL_DEV", "true")); err != nil {
		t.Fatalf("LOCAL_DEV: %v", err)
	}
}

// TestReload: Reload swaps in a valid file's routes and keeps the old ones when the new file
// is invalid (the error names the route and field, not the secret).
func TestReload(t *testing.T) {
	f := newFixture(t, backends[0].target(t), fixtureOpts{localDev: true})
	rl := f.relays[0]
	f.writeRoutes(t, `{"routes": [{"name": "api", "upstream": "`+f.up.URL+`", "methods": ["GET"], "api_keys": ["x"], "inject_headers": {"A": "${UNSET}"}}]}`)
	err := rl.Reload()
	if err == nil || !strings.Contains(err.Error(), `route "api" (routes[0]): inject_headers["A"]: ${UNSET} is not set`) {
		t.Fatalf("reload of a broken file: %v", err)
	}
	if r := send(t, f.addrs[0], request("POST", "/relay/api/echo", nil, `{}`)); !strings.HasPrefix(string(r), "HTTP/1.1 200 ") {
		t.Fatalf("old route after a broken reload: %q", r)
	}
	f.writeRoutes(t, routeFile(f.up.URL, `, "timeout": "1s"`, `{"name": "new", "upstream": "`+f.up.URL+`", "methods": ["GET"], "api_keys": ["${CALLER_KEY}"]}`))
	if err := rl.Reload(); err != nil {
		t.Fatal(err)
	}
	if r, _ := rl.Routes().Get("api"); r.Timeout != time.Second {
		t.Fatalf("reloaded route %+v", r)
	}
	if r := send(t, f.addrs[0], request("GET", "/relay/new/echo", nil, "")); !strings.HasPrefix(string(r), "HTTP/1.1 200 ") {
		t.Fatalf("new route after reload: %q", r)
	}
	if strings.Contains(f.logs.String(), secret) {
		t.Fatal("the logs hold the secret")
	}
}
