package registry

import (
	"net/netip"
	"time"
)

// The address families of an outcall copy's source. The IC reaches a host over IPv6 from each
// replica first and falls back to IPv4 SOCKS proxies on API boundary nodes, so one outcall's
// copies come from up to n IPv6 addresses plus a few shared IPv4 ones.
const (
	FamilyIPv6 = "ipv6"
	FamilyIPv4 = "ipv4" // including an IPv4-mapped IPv6 address (::ffff:a.b.c.d)
	// FamilyUnknown is a source that is not an IP address (a unix socket, a test).
	FamilyUnknown = "unknown"
)

// AddrFamily is the family of a copy's source address.
func AddrFamily(addr string) string {
	a, err := netip.ParseAddr(addr)
	switch {
	case err != nil:
		return FamilyUnknown
	case a.Unmap().Is4():
		return FamilyIPv4
	default:
		return FamilyIPv6
	}
}

// CopyForensics is what the intake recorded of a notification's copies (the first
// MaxRecordedCopies of them): where they came from, when, and whether their bodies agreed. It
// is what a developer looks at when the canister saw "No consensus could be reached ...
// hashes: [05f0…: 15], [c3bf…: 8]". A notification with one copy (a non-replicated outcall) is
// normal.
type CopyForensics struct {
	Recorded        int            // copies recorded
	ByFamily        map[string]int // copies by AddrFamily
	DistinctSources int            // distinct source addresses
	Spread          time.Duration  // from the first recorded copy to the last
	BodyGroups      []BodyGroup    // identical request bodies, largest group first
}

// BodyGroup is a set of copies with byte-identical request bodies.
type BodyGroup struct {
	Hash  string // sha256 hex of the body
	Count int
}

// MaxRecordedCopies bounds the copies recorded per notification: more than the largest
// subnet (34 replicas) sends, so that every copy of a replicated outcall is recorded.
const MaxRecordedCopies = 64
