package httpserver

import (
	"net/http"
	"net/netip"
	"strings"
)

// loopback are the trusted proxies when none are given: the api's proxy to the notifier
// connects from loopback.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// ClientAddr is the address a request came from, for logs and the intake's copy forensics
// (never a limit's key there: the IC's IPv4 fallback shares a few boundary-node proxies between
// many canisters). It is the TCP peer, unless the peer is a trusted proxy: then the nearest address of
// X-Forwarded-For that is not a trusted proxy (proxies append the peer they saw, so the
// entries left of the last trusted hop are the client's to invent). An IPv4-mapped IPv6
// address is written as IPv4; "" when the peer is not an IP address. trusted nil means
// loopback; an empty, non-nil trusted trusts no proxy.
func ClientAddr(r *http.Request, trusted []netip.Prefix) string {
	if trusted == nil {
		trusted = loopback
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return ""
	}
	addr := ap.Addr().Unmap().WithZone("")
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0 && isTrusted(addr, trusted); i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		addr = a.Unmap().WithZone("")
	}
	return addr.String()
}

func isTrusted(a netip.Addr, nets []netip.Prefix) bool {
	for _, n := range nets {
		if n.Contains(a) {
			return true
		}
	}
	return false
}
