// Package egress is the one HTTP client canistry uses to reach addresses its users name:
// webhook endpoints (pkg/webhook) and the outcall relay's upstreams (pkg/relay). Both follow
// the same dial rules, so both are built here.
package egress

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"

	"canistry/pkg/registry"
)

// Options configures NewClient.
type Options struct {
	// LocalDev allows loopback, private and other non-public addresses (LOCAL_DEV).
	LocalDev bool
	// Timeout is the connect, TLS handshake, response-header and total deadline of one call.
	Timeout time.Duration
	// IdlePerHost is how many idle connections are kept per host (0: 2, net/http's default).
	IdlePerHost int
	// TLS, when set, replaces the default TLS configuration (TLS 1.2 at least, verified
	// against the system roots); tests give their own roots.
	TLS *tls.Config
}

// NewClient returns a client whose every call has opts.Timeout as its connect, TLS handshake,
// response-header and total deadline; redirects are not followed (a 3xx is returned as it
// is); no proxy from the environment is used. Unless opts.LocalDev, a connection to a loopback,
// private, link-local, unspecified, multicast or reserved address is refused at dial time,
// after name resolution (net.Dialer.Control sees the resolved address), so a name that
// resolves to such an address, or starts to (DNS rebinding), is refused as well.
func NewClient(opts Options) *http.Client {
	dialer := &net.Dialer{Timeout: opts.Timeout, KeepAlive: 30 * time.Second}
	if !opts.LocalDev {
		dialer.Control = RefuseNonPublic
	}
	tlsConfig := opts.TLS
	if tlsConfig == nil {
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		TLSClientConfig:       tlsConfig,
		TLSHandshakeTimeout:   opts.Timeout,
		ResponseHeaderTimeout: opts.Timeout,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   opts.IdlePerHost,
		IdleConnTimeout:       90 * time.Second,
	}
	return &http.Client{
		Transport:     tr,
		Timeout:       opts.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// RefuseNonPublic is the dialer's Control hook: address is the resolved IP and port about to
// be connected to. An IPv6 address that embeds a refused IPv4 address (NAT64, 6to4,
// IPv4-compatible) is refused as that IPv4 address would be (registry.ForbiddenAddr). Its
// errors wrap ErrForbidden.
func RefuseNonPublic(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("dial to %s refused: not an IP address and port: %w", address, ErrForbidden)
	}
	if ap.Port() == 0 {
		return fmt.Errorf("dial to %s refused: port 0: %w", address, ErrForbidden)
	}
	if why := registry.ForbiddenAddr(ap.Addr()); why != "" {
		return fmt.Errorf("dial to %s refused: %s address (public addresses only unless LOCAL_DEV): %w", address, why, ErrForbidden)
	}
	return nil
}

// ErrForbidden is wrapped by every refusal of RefuseNonPublic.
var ErrForbidden = errForbidden{}

type errForbidden struct{}

func (errForbidden) Error() string { return "non-public address" }
