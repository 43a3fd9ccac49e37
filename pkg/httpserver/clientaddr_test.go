package httpserver_test

import (
	"net/http/httptest"
	"net/netip"
	"testing"

	"canistry/pkg/httpserver"
)

// TestClientAddr: the peer, unless it is a trusted proxy; then the nearest untrusted hop of
// X-Forwarded-For. IPv4-mapped IPv6 is written as IPv4.
func TestClientAddr(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	for _, tc := range []struct {
		name, peer, xff string
		trusted         []netip.Prefix
		want            string
	}{
		{"DirectIPv6", "[2001:db8::7]:4000", "", nil, "2001:db8::7"},
		{"DirectIPv4", "192.0.2.1:4000", "", nil, "192.0.2.1"},
		{"MappedIPv4", "[::ffff:192.0.2.1]:4000", "", nil, "192.0.2.1"},
		{"UntrustedPeerIgnoresHeader", "192.0.2.1:4000", "2001:db8::1", nil, "192.0.2.1"},
		{"LoopbackProxy", "127.0.0.1:4000", "2001:db8::1", nil, "2001:db8::1"},
		{"SpoofedLeftOfRealClient", "127.0.0.1:4000", "2001:db8::bad, 192.0.2.9", nil, "192.0.2.9"},
		{"ChainOfTrusted", "10.1.1.1:4000", "2001:db8::1, 10.2.2.2", proxies, "2001:db8::1"},
		{"MappedInHeader", "[::1]:4000", "::ffff:198.51.100.4", nil, "198.51.100.4"},
		{"TrustNone", "127.0.0.1:4000", "2001:db8::1", []netip.Prefix{}, "127.0.0.1"},
		{"GarbageHeader", "127.0.0.1:4000", "nonsense", nil, "127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/miner-notifications", nil)
			r.RemoteAddr = tc.peer
			if tc.xff != "" {
				r.Header.Set("X-Forwarded-For", tc.xff)
			}
			if got := httpserver.ClientAddr(r, tc.trusted); got != tc.want {
				t.Errorf("ClientAddr = %q, want %q", got, tc.want)
			}
		})
	}
}
