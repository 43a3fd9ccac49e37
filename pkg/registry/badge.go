package registry

import (
	"slices"
	"strings"
	"time"
)

// Badge names, as REST filters them (?badge=) and canister JSON lists them.
const (
	BadgeVerified          = "verified"
	BadgeBlackholed        = "blackholed"
	BadgeImmutable         = "immutable"
	BadgeControllerChanged = "controller_changed"
	// Ledger badges, from the standards a token declares (ICRC-10, or ICRC-1's list).
	BadgeICRC2      = "icrc2"      // ICRC-2: approve and transfer_from
	BadgeICRC3      = "icrc3"      // ICRC-3: a certified block log
	BadgeIndexed    = "indexed"    // ICRC-106: the ledger names its index canister
	BadgePrivileged = "privileged" // ICRC-152/153/154: privileged mint/burn, freeze or pause
)

// BadgeNames lists every badge.
var BadgeNames = []string{BadgeVerified, BadgeBlackholed, BadgeImmutable, BadgeControllerChanged,
	BadgeICRC2, BadgeICRC3, BadgeIndexed, BadgePrivileged}

// What immutable_since counts from (Badges.ImmutableBasis).
const (
	// ImmutableFromInstall: the certified last_install_timestamp (interface spec 0.66.0).
	ImmutableFromInstall = "certified_install"
	// ImmutableFromObserved: when the poller first saw the current module hash.
	ImmutableFromObserved = "first_observed"
)

// LedgerBadges are the badges a token ledger earns by what it declares.
type LedgerBadges struct {
	ICRC2, ICRC3, Indexed, Privileged bool
}

// LedgerBadgesOf derives the ledger badges from what the poller read of a token.
func LedgerBadgesOf(t *TokenInfo) LedgerBadges {
	return LedgerBadges{ICRC2: t.Supports(StandardICRC2), ICRC3: t.Supports(StandardICRC3),
		Indexed: t.IndexID != "", Privileged: t.Privileged()}
}

// KnownBlackholes are public canisters that control others without being able to upgrade
// them: a canister whose only controllers are among these can no longer change its code.
// e3mmv-5qaaa-aaaah-aadma-cai is the blackhole of ninegua/ic-blackhole, which also serves
// canister_status for the canisters it controls.
var KnownBlackholes = []string{"e3mmv-5qaaa-aaaah-aadma-cai"}

// BadgeRules are the thresholds of the time-based badges.
type BadgeRules struct {
	// ImmutableAfter: no module hash change for this long earns "immutable".
	ImmutableAfter time.Duration
	// ControllerRecent: a controllers change within this long earns "controller_changed".
	ControllerRecent time.Duration
}

// DefaultBadgeRules are the thresholds the poller uses.
var DefaultBadgeRules = BadgeRules{ImmutableAfter: 30 * 24 * time.Hour, ControllerRecent: 7 * 24 * time.Hour}

// BadgeInput is what badges are computed from: the chain data the poller stored.
type BadgeInput struct {
	ModuleHash  string
	Controllers []string
	KnownBuild  bool // ModuleHash is in module_hashes
	// HashSince is when the current module hash was first observed (its last change, or the
	// first observation of the canister); zero when never read.
	HashSince time.Time
	// ControllersChangedAt is the last observed controllers change; zero when none was seen
	// after the first observation.
	ControllersChangedAt time.Time
	// InstalledAt is the certified last install; zero when the IC does not certify it. When
	// known, immutability counts from it rather than from HashSince.
	InstalledAt time.Time
	// Ledger are the ledger badges (all false for a canister that is not a token).
	Ledger LedgerBadges
}

// Badges are a canister's trust badges as the poller last computed them.
type Badges struct {
	Verified       bool
	Blackholed     bool
	Immutable      bool
	ImmutableSince *time.Time // since when the code is unchanged: see ImmutableBasis
	// ImmutableBasis says what ImmutableSince is: ImmutableFromInstall or ImmutableFromObserved.
	ImmutableBasis       string
	ControllerChanged    bool
	ControllersChangedAt *time.Time
	LedgerBadges
	// ComputedAt is when these badges were computed; the poller stores them only when they
	// differ from the stored ones, so a stored ComputedAt is when they last changed.
	ComputedAt time.Time
}

// Names lists the badges b holds, in BadgeNames order.
func (b *Badges) Names() []string {
	out := []string{}
	for _, n := range BadgeNames {
		if b.Has(n) {
			out = append(out, n)
		}
	}
	return out
}

// Has reports whether b holds the badge name.
func (b *Badges) Has(name string) bool {
	switch name {
	case BadgeVerified:
		return b.Verified
	case BadgeBlackholed:
		return b.Blackholed
	case BadgeImmutable:
		return b.Immutable
	case BadgeControllerChanged:
		return b.ControllerChanged
	case BadgeICRC2:
		return b.ICRC2
	case BadgeICRC3:
		return b.ICRC3
	case BadgeIndexed:
		return b.Indexed
	case BadgePrivileged:
		return b.Privileged
	}
	return false
}

// ParseBadge validates a badge name.
func ParseBadge(s string) (string, error) {
	if !slices.Contains(BadgeNames, s) {
		return "", Errorf(EINVALID, "badge %q is not one of %s", s, strings.Join(BadgeNames, ", "))
	}
	return s, nil
}

// ComputeBadges decides a canister's badges at now. A canister never read (HashSince zero)
// has none. Blackholed needs an installed module: an empty canister with no controllers is
// not a trustworthy program, it is nothing.
func ComputeBadges(in BadgeInput, now time.Time, r BadgeRules) Badges {
	b := Badges{ComputedAt: now, LedgerBadges: in.Ledger}
	if in.HashSince.IsZero() {
		return b
	}
	b.Verified = in.ModuleHash != "" && in.KnownBuild
	b.Blackholed = in.ModuleHash != "" && onlyBlackholes(in.Controllers)
	since, basis := in.HashSince, ImmutableFromObserved
	if !in.InstalledAt.IsZero() {
		since, basis = in.InstalledAt, ImmutableFromInstall
	}
	b.ImmutableSince, b.ImmutableBasis = &since, basis
	b.Immutable = in.ModuleHash != "" && now.Sub(since) >= r.ImmutableAfter
	if !in.ControllersChangedAt.IsZero() {
		at := in.ControllersChangedAt
		b.ControllersChangedAt = &at
		b.ControllerChanged = now.Sub(at) < r.ControllerRecent
	}
	return b
}

func onlyBlackholes(controllers []string) bool {
	for _, c := range controllers {
		if !slices.Contains(KnownBlackholes, c) {
			return false
		}
	}
	return true
}

// Equal reports whether b and o hold the same badges and times (ComputedAt aside).
func (b *Badges) Equal(o *Badges) bool {
	return b.Verified == o.Verified && b.Blackholed == o.Blackholed && b.Immutable == o.Immutable &&
		b.ControllerChanged == o.ControllerChanged && sameTime(b.ImmutableSince, o.ImmutableSince) &&
		sameTime(b.ControllersChangedAt, o.ControllersChangedAt) && b.ImmutableBasis == o.ImmutableBasis &&
		b.LedgerBadges == o.LedgerBadges
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}
