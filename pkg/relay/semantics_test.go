package relay_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"canistry/pkg/httperror"
	"canistry/pkg/internal/testclock"
	"canistry/pkg/lifecycle/runtest"
	"canistry/pkg/registry"
	"canistry/pkg/store"
)

// TestSSRF: without LOCAL_DEV, an upstream whose name resolves to loopback is refused at dial
// time (the routes file cannot name a loopback address literally, TestParseRoutes), stored as
// one upstream_forbidden reply; the upstream gets nothing.
func TestSSRF(t *testing.T) {
	f := newFixture(t, backends[0].target(t), fixtureOpts{localDev: true})
	u, _ := url.Parse(f.up.URL)
	_, port, _ := net.SplitHostPort(u.Host)
	f.localDevOff(t, fmt.Sprintf(`{"routes": [{"name": "api", "upstream": "https://localhost:%s", "methods": ["GET"], "api_keys": [%q]}]}`, port, callerKey))
	reply := identical(t, storm(t, f.addrs, 4, request("GET", "/relay/api/echo", nil, "")), "502 Bad Gateway")
	var e httperror.Body
	if err := json.Unmarshal([]byte(body(reply)), &e); err != nil || e.Error.Code != registry.EUpstreamForbidden {
		t.Fatalf("reply %q", reply)
	}
	if n := f.up.Total(); n != 0 {
		t.Fatalf("the loopback upstream got %d calls", n)
	}
}

// localDevOff replaces the fixture's relays with one that runs without LOCAL_DEV on routes.
func (f *fixture) localDevOff(t *testing.T, routes string) {
	t.Helper()
	delete(f.env, "LOCAL_DEV")
	f.writeRoutes(t, routes)
	g := newFixtureOn(t, f, false)
	f.relays, f.addrs = g.relays, g.addrs
}

// TestGetTTL: copies of a GET without Idempotency-Key share one reply for get_ttl after it was
// stored; after that the next copy calls the upstream again. With a key, the window applies.
func TestGetTTL(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			clock := testclock.New(time.UnixMilli(1_800_000_000_000))
			f := newFixture(t, be.target(t), fixtureOpts{relays: 2, localDev: true, fields: `, "get_ttl": "2s"`, now: clock.Now})
			get := request("GET", "/relay/api/echo", nil, "")
			keyed := request("GET", "/relay/api/echo", map[string]string{"Idempotency-Key": "g"}, "")
			first := identical(t, storm(t, f.addrs, 8, get), "200 OK")
			firstKeyed := identical(t, storm(t, f.addrs, 8, keyed), "200 OK")
			clock.Advance(1500 * time.Millisecond)
			if r := send(t, f.addrs[1], get); string(r) != string(first) {
				t.Fatalf("within get_ttl: %q, want %q", r, first)
			}
			clock.Advance(time.Second)
			second := identical(t, storm(t, f.addrs, 8, get), "200 OK")
			if string(second) == string(first) || f.up.Calls("GET /echo") != 3 {
				t.Fatalf("after get_ttl: %d calls, reply %q", f.up.Calls("GET /echo"), second)
			}
			if r := send(t, f.addrs[0], keyed); string(r) != string(firstKeyed) {
				t.Fatalf("a keyed GET after get_ttl: %q", r)
			}
		})
	}
}

// TestDiverged: a copy whose body differs from the first copy of its Idempotency-Key gets the
// stored reply (consensus first) and the call is marked diverged.
func TestDiverged(t *testing.T) {
	target := backends[0].target(t)
	f := newFixture(t, target, fixtureOpts{relays: 2, localDev: true})
	a := request("POST", "/relay/api/echo", map[string]string{"Idempotency-Key": "d"}, `{"a": 1}`)
	b := request("POST", "/relay/api/echo", map[string]string{"Idempotency-Key": "d"}, `{"a": 2}`)
	first := send(t, f.addrs[0], a)
	for _, addr := range f.addrs {
		if r := send(t, addr, b); string(r) != string(first) {
			t.Fatalf("diverged copy: %q, want %q", r, first)
		}
	}
	if n := f.up.Total(); n != 1 {
		t.Fatalf("%d upstream calls, want 1", n)
	}
	st, err := store.Open(t.Context(), target)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	runtest.WaitFor(t, "the diverged copies counted", func() bool {
		page, err := st.ListRelayCalls(t.Context(), registry.RelayCallFilter{Page: registry.Page{Limit: 5}})
		return err == nil && len(page.Items) == 1 && page.Items[0].Diverged && page.Items[0].Copies == 3
	})
	if !strings.Contains(body(first), `\"a\": 1`) {
		t.Fatalf("the stored reply is not the first copy's: %q", first)
	}
}
