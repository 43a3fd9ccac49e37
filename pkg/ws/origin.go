package ws

import (
	"net/http"
	"net/netip"
	"strings"
)

// loopbackProxies are the trusted proxies when Config.TrustedProxies is nil: where the api's
// proxy connects from.
var loopbackProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// fromTrustedProxy reports whether r's TCP peer is in nets.
func fromTrustedProxy(r *http.Request, nets []netip.Prefix) bool {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	a := ap.Addr().Unmap().WithZone("")
	for _, n := range nets {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// forwardedHost is the first host of X-Forwarded-Host when r comes from a trusted proxy (nets),
// and "" otherwise: a client that talks to the notifier directly cannot claim another host.
func forwardedHost(r *http.Request, nets []netip.Prefix) string {
	if !fromTrustedProxy(r, nets) {
		return ""
	}
	fwd, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Host"), ",")
	return strings.TrimSpace(fwd)
}
