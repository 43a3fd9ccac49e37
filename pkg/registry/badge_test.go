package registry_test

import (
	"fmt"
	"testing"
	"time"

	"canistry/pkg/registry"
)

func TestComputeBadges(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	hash := "ab"
	day := 24 * time.Hour
	hole := registry.KnownBlackholes[0]
	for _, tc := range []struct {
		name string
		in   registry.BadgeInput
		want []string
	}{
		{"NeverRead", registry.BadgeInput{ModuleHash: hash, KnownBuild: true}, []string{}},
		{"Verified", registry.BadgeInput{ModuleHash: hash, KnownBuild: true, Controllers: []string{"aaaaa-aa"}, HashSince: now}, []string{"verified"}},
		{"EmptyIsNothing", registry.BadgeInput{HashSince: now.Add(-100 * day)}, []string{}},
		{"NoControllers", registry.BadgeInput{ModuleHash: hash, HashSince: now}, []string{"blackholed"}},
		{"OnlyBlackhole", registry.BadgeInput{ModuleHash: hash, Controllers: []string{hole}, HashSince: now}, []string{"blackholed"}},
		{"BlackholeAndOwner", registry.BadgeInput{ModuleHash: hash, Controllers: []string{hole, "aaaaa-aa"}, HashSince: now}, []string{}},
		{"ImmutableAt30Days", registry.BadgeInput{ModuleHash: hash, Controllers: []string{"aaaaa-aa"}, HashSince: now.Add(-30 * day)}, []string{"immutable"}},
		{"NotYetImmutable", registry.BadgeInput{ModuleHash: hash, Controllers: []string{"aaaaa-aa"}, HashSince: now.Add(-30*day + time.Second)}, []string{}},
		{"ControllerChanged", registry.BadgeInput{ModuleHash: hash, Controllers: []string{"aaaaa-aa"}, HashSince: now.Add(-day),
			ControllersChangedAt: now.Add(-7*day + time.Second)}, []string{"controller_changed"}},
		{"ControllerChangeOld", registry.BadgeInput{ModuleHash: hash, Controllers: []string{"aaaaa-aa"}, HashSince: now.Add(-day),
			ControllersChangedAt: now.Add(-7 * day)}, []string{}},
		{"All", registry.BadgeInput{ModuleHash: hash, KnownBuild: true, Controllers: []string{hole}, HashSince: now.Add(-40 * day),
			ControllersChangedAt: now.Add(-day)}, []string{"verified", "blackholed", "immutable", "controller_changed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := registry.ComputeBadges(tc.in, now, registry.DefaultBadgeRules)
			if got := b.Names(); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("badges %v, want %v", got, tc.want)
			}
			c := b
			if !b.Equal(&c) {
				t.Error("not equal to its copy")
			}
		})
	}
}

func TestParseBadge(t *testing.T) {
	for _, n := range registry.BadgeNames {
		if _, err := registry.ParseBadge(n); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
	if _, err := registry.ParseBadge("trusted"); registry.ErrorCode(err) != registry.EINVALID {
		t.Errorf("unknown badge: %v", err)
	}
}

func TestCanisterStatus_RunwayDays(t *testing.T) {
	for _, tc := range []struct{ cycles, idle, want string }{
		{"340282366920938463463374607431768211456", "1000000000000", "340282366920938463463374607"},
		{"999", "1000", "0"}, {"1000", "", ""}, {"1000", "0", ""}, {"", "5", ""},
	} {
		s := registry.CyclesPoint{Cycles: tc.cycles, IdleCyclesPerDay: tc.idle}
		if got := s.RunwayDays(); got != tc.want {
			t.Errorf("RunwayDays(%s / %s) = %q, want %q", tc.cycles, tc.idle, got, tc.want)
		}
	}
	if got := registry.CyclesSource([]string{"aaaaa-aa", registry.KnownBlackholes[0]}); got != registry.CanisterID(registry.KnownBlackholes[0]) {
		t.Errorf("StatusCanister = %q", got)
	}
	if got := registry.CyclesSource([]string{"aaaaa-aa"}); got != "" {
		t.Errorf("StatusCanister without a blackhole = %q", got)
	}
}
