package ws

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

// TestCheckOrigin_ForwardedHostOnlyFromTrustedProxies: a forged X-Forwarded-Host from a peer
// outside TRUSTED_PROXIES is ignored (the origin is refused); from a trusted peer it is honoured.
func TestCheckOrigin_ForwardedHostOnlyFromTrustedProxies(t *testing.T) {
	tests := []struct {
		name    string
		trusted []netip.Prefix // nil: the default (loopback)
		peer    string
		ok      bool
	}{
		{"DefaultLoopbackV4", nil, "127.0.0.1:40000", true},
		{"DefaultLoopbackV4Other", nil, "127.3.2.1:40000", true},
		{"DefaultLoopbackV6", nil, "[::1]:40000", true},
		{"DefaultMappedLoopback", nil, "[::ffff:127.0.0.1]:40000", true},
		{"DefaultForeignV4", nil, "192.0.2.7:40000", false},
		{"DefaultForeignV6", nil, "[2001:db8::7]:40000", false},
		{"DefaultNoPort", nil, "127.0.0.1", false},
		{"ConfiguredProxy", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, "10.1.2.3:40000", true},
		{"ConfiguredLoopbackNotTrusted", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, "127.0.0.1:40000", false},
		{"NoneTrusted", []netip.Prefix{}, "127.0.0.1:40000", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{TrustedProxies: tc.trusted}
			cfg.defaults()
			h := &Hub{cfg: cfg}
			r := httptest.NewRequest("GET", "http://notifier.internal:8081/ws", nil)
			r.RemoteAddr = tc.peer
			r.Header.Set("Origin", "https://public.example")
			r.Header.Set("X-Forwarded-Host", "public.example, other.example")
			if got := h.checkOrigin(r); got != tc.ok {
				t.Fatalf("checkOrigin from %s = %v, want %v", tc.peer, got, tc.ok)
			}
			// The server's own host is accepted from any peer, forwarded header or not.
			r.Header.Set("Origin", "http://notifier.internal:8081")
			if !h.checkOrigin(r) {
				t.Fatal("own host refused")
			}
		})
	}
}
