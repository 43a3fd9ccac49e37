package registry

import (
	"crypto/rand"
	"encoding/base64"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Webhook states.
const (
	WebhookActive  = "active"  // deliveries run
	WebhookFailing = "failing" // the retry budget of an event ran out; nothing is sent until re-enabled
)

// WebhookSecretPrefix starts every endpoint secret (Standard Webhooks).
const WebhookSecretPrefix = "whsec_"

// NewWebhookSecret returns a new endpoint secret: "whsec_" and the base64 of 32 random bytes.
func NewWebhookSecret() (string, error) {
	var key [32]byte
	if _, err := rand.Read(key[:]); err != nil {
		return "", err
	}
	return WebhookSecretPrefix + base64.StdEncoding.EncodeToString(key[:]), nil
}

// MaxWebhookURLLen bounds a webhook's URL.
const MaxWebhookURLLen = 2048

// Webhook is an endpoint that receives the events of the log that pass its filter, signed, in
// order, one at a time. Cursor is the id of the last event it got (or that its filter skipped):
// deliveries resume after it.
type Webhook struct {
	ID          int64
	URL         string
	Filter      EventFilter
	Description string
	Secret      string // "whsec_" + base64 of 32 random bytes; shown only when created
	CreatedAt   time.Time

	State         string     // WebhookActive or WebhookFailing
	Cursor        int64      // last event delivered or filtered out
	Attempts      int        // failed attempts at the event after Cursor
	NextAttemptAt *time.Time // when the next attempt is due (nil: now)
	LastError     string
	FailingSince  *time.Time
	Delivered     int64 // events delivered since creation
}

// WebhookAttempt is one delivery attempt, as kept in an endpoint's attempt log.
type WebhookAttempt struct {
	ID        int64
	WebhookID int64
	EventID   int64
	Event     string
	MessageID string // the webhook-id header
	Attempt   int    // 1 for the first try of this event
	At        time.Time
	Status    int // HTTP status; 0 when no response came
	Duration  time.Duration
	Error     string // why it failed; empty on success
	Response  string // the first bytes of the response body
}

// OK reports whether the attempt delivered its event (a 2xx reply).
func (a *WebhookAttempt) OK() bool { return a.Status >= 200 && a.Status < 300 }

// ValidateWebhookURL checks a webhook URL as given at creation: absolute https (http only when
// localDev), a host, a port (when given) from 1 to 65535, no user info or fragment, and, when the host is an IP literal, an address
// that deliveries may reach (ForbiddenAddr). Hostnames are checked again at every dial.
func ValidateWebhookURL(raw string, localDev bool) error {
	if raw == "" {
		return Errorf(EINVALID, "url is required")
	}
	if len(raw) > MaxWebhookURLLen {
		return Errorf(EINVALID, "url is longer than %d bytes", MaxWebhookURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Opaque != "" {
		return Errorf(EINVALID, "url must be an absolute https URL, not %.80q", raw)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && localDev:
	case u.Scheme == "http":
		return Errorf(EINVALID, "url must be https (http is allowed only with LOCAL_DEV)")
	default:
		return Errorf(EINVALID, "url must be https, not %q", u.Scheme)
	}
	if u.Hostname() == "" {
		return Errorf(EINVALID, "url has no host")
	}
	if u.User != nil {
		return Errorf(EINVALID, "url must not carry a user or password")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return Errorf(EINVALID, "url must not have a fragment")
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return Errorf(EINVALID, "url port %q must be from 1 to 65535", port)
		}
	}
	if ip, err := netip.ParseAddr(strings.Trim(u.Hostname(), "[]")); err == nil && !localDev {
		if why := ForbiddenAddr(ip); why != "" {
			return Errorf(EINVALID, "url points at a %s address (%s); webhooks go to public addresses only", why, ip)
		}
	}
	return nil
}

// nonPublic are ranges a webhook never reaches beyond what netip's predicates cover.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),      // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),  // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),   // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"),  // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),    // reserved, broadcast
	netip.MustParsePrefix("64:ff9b:1::/48"), // local-use IPv4/IPv6 translation
}

// ForbiddenAddr says why a webhook must not connect to ip (loopback, private, link-local,
// unspecified, multicast or another non-public range), or "" when it may. IPv4-mapped IPv6
// addresses are judged as the IPv4 address they carry, and so are IPv6 addresses that embed
// one by translation or tunnelling (embeddedIPv4): 64:ff9b::7f00:1 reaches 127.0.0.1 through a
// NAT64 gateway, so it is refused as "NAT64-embedded loopback".
func ForbiddenAddr(ip netip.Addr) string {
	ip = ip.Unmap()
	switch {
	case !ip.IsValid():
		return "invalid"
	case ip.IsLoopback():
		return "loopback"
	case ip.IsPrivate():
		return "private"
	case ip.IsLinkLocalUnicast():
		return "link-local"
	case ip.IsUnspecified():
		return "unspecified"
	case ip.IsMulticast(), ip.IsLinkLocalMulticast(), ip.IsInterfaceLocalMulticast():
		return "multicast"
	}
	if slices.ContainsFunc(nonPublic, func(p netip.Prefix) bool { return p.Contains(ip) }) {
		return "reserved"
	}
	if v4, how, ok := embeddedIPv4(ip); ok {
		if why := ForbiddenAddr(v4); why != "" {
			return how + "-embedded " + why
		}
	}
	return ""
}

// IPv6 ranges whose addresses carry an IPv4 address. The local-use NAT64 prefix
// 64:ff9b:1::/48 is refused whole (nonPublic): where its IPv4 sits depends on the network.
var (
	nat64          = netip.MustParsePrefix("64:ff9b::/96") // RFC 6052 well-known prefix: the last 32 bits
	sixToFour      = netip.MustParsePrefix("2002::/16")    // RFC 3056: bits 16 to 47
	ipv4Compatible = netip.MustParsePrefix("::/96")        // RFC 4291 (deprecated): the last 32 bits
)

// embeddedIPv4 returns the IPv4 address an IPv6 address carries (NAT64, 6to4 or
// IPv4-compatible) and the convention's name.
func embeddedIPv4(ip netip.Addr) (netip.Addr, string, bool) {
	if !ip.Is6() {
		return netip.Addr{}, "", false
	}
	b := ip.As16()
	switch {
	case nat64.Contains(ip):
		return netip.AddrFrom4([4]byte(b[12:16])), "NAT64", true
	case sixToFour.Contains(ip):
		return netip.AddrFrom4([4]byte(b[2:6])), "6to4", true
	case ipv4Compatible.Contains(ip):
		return netip.AddrFrom4([4]byte(b[12:16])), "IPv4-compatible", true
	}
	return netip.Addr{}, "", false
}
