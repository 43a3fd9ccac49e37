package ws

import (
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
)

// trustedProxies are the peers whose X-Forwarded-* headers the origin check believes
// (TRUSTED_PROXIES). Nil means the default, loopback only: where the api's proxy connects from.
var trustedProxies atomic.Pointer[[]netip.Prefix]

var loopbackProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// TrustProxies sets, for the whole process, the peers whose forwarded headers are believed
// (TRUSTED_PROXIES; lifecycle.Start calls it). An empty list trusts no peer.
func TrustProxies(nets []netip.Prefix) {
	nets = append([]netip.Prefix{}, nets...)
	trustedProxies.Store(&nets)
}

// fromTrustedProxy reports whether r's TCP peer is a trusted proxy.
func fromTrustedProxy(r *http.Request) bool {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	a := ap.Addr().Unmap().WithZone("")
	nets := loopbackProxies
	if p := trustedProxies.Load(); p != nil {
		nets = *p
	}
	for _, n := range nets {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// forwardedHost is the first host of X-Forwarded-Host when r comes from a trusted proxy, and ""
// otherwise: a client that talks to the notifier directly cannot claim another host.
func forwardedHost(r *http.Request) string {
	if !fromTrustedProxy(r) {
		return ""
	}
	fwd, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Host"), ",")
	return strings.TrimSpace(fwd)
}
