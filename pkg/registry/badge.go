package registry

import (
	"slices"
	"time"
)

// Badge names, as REST filters them (?badge=) and canister JSON lists them.
const (
	BadgeVerified          = "verified"
	BadgeBlackholed        = "blackholed"
	BadgeImmutable         = "immutable"
	BadgeControllerChanged = "controller_changed"
)

// BadgeNames lists every badge.
var BadgeNames = []string{BadgeVerified, BadgeBlackholed, BadgeImmutable, BadgeControllerChanged}

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
}

// Badges are a canister's trust badges as the poller last computed them.
type Badges struct {
	Verified             bool
	Blackholed           bool
	Immutable            bool
	ImmutableSince       *time.Time // when the current module hash was first observed
	ControllerChanged    bool
	ControllersChangedAt *time.Time
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
	}
	return false
}

// ParseBadge validates a badge name.
func ParseBadge(s string) (string, error) {
	if !slices.Contains(BadgeNames, s) {
		return "", Errorf(EINVALID, "badge %q is not one of verified, blackholed, immutable, controller_changed", s)
	}
	return s, nil
}

// ComputeBadges decides a canister's badges at now. A canister never read (HashSince zero)
// has none. Blackholed needs an installed module: an empty canister with no controllers is
// not a trustworthy program, it is nothing.
func ComputeBadges(in BadgeInput, now time.Time, r BadgeRules) Badges {
	b := Badges{ComputedAt: now}
	if in.HashSince.IsZero() {
		return b
	}
	b.Verified = in.ModuleHash != "" && in.KnownBuild
	b.Blackholed = in.ModuleHash != "" && onlyBlackholes(in.Controllers)
	since := in.HashSince
	b.ImmutableSince = &since
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
		sameTime(b.ControllersChangedAt, o.ControllersChangedAt)
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}
