package webhook

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"

	"canistry/pkg/registry"
	"canistry/pkg/store"
)

// MaxResponseBytes is how much of a reply is read; the rest is dropped with the connection.
const MaxResponseBytes = 64 << 10

// NewClient returns the HTTP client of deliveries. Every call has timeout as its connect, TLS
// handshake, response-header and total deadline; redirects are not followed (a 3xx is a
// failed attempt); no proxy from the environment is used. Unless localDev, a connection to
// a loopback, private, link-local, unspecified, multicast or reserved address is refused at
// dial time, after name resolution (net.Dialer.Control sees the resolved address), so a name
// that resolves to such an address, or starts to (DNS rebinding), is refused as well.
func NewClient(localDev bool, timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	if !localDev {
		dialer.Control = refuseNonPublic
	}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   store.MaxWebhooks, // one per endpoint, even when all share a host
		IdleConnTimeout:       90 * time.Second,
	}
	return &http.Client{
		Transport:     tr,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// refuseNonPublic is the dialer's Control hook: address is the resolved IP and port about to
// be connected to. An IPv6 address that embeds a refused IPv4 address (NAT64, 6to4,
// IPv4-compatible) is refused as that IPv4 address would be (registry.ForbiddenAddr).
func refuseNonPublic(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("webhook dial to %s refused: not an IP address and port", address)
	}
	if ap.Port() == 0 {
		return fmt.Errorf("webhook dial to %s refused: port 0", address)
	}
	if why := registry.ForbiddenAddr(ap.Addr()); why != "" {
		return fmt.Errorf("webhook dial to %s refused: %s address (webhooks reach public addresses only unless LOCAL_DEV)", address, why)
	}
	return nil
}
