package httpapi_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"canistry/pkg/registry"
)

func TestAPI_CanisterBadges(t *testing.T) {
	a := newTestAPI(t, apiOptions{adminKey: testAdminKey})
	registerCanister(t, a, idLedger, "token")
	registerCanister(t, a, idMiner, "miner")
	now := a.Clock.Now()
	since := now.Add(-40 * 24 * time.Hour)
	b := registry.Badges{Blackholed: true, Immutable: true, ImmutableSince: &since, ComputedAt: now}
	if err := a.Store.SaveBadges(t.Context(), idLedger, "", b); err != nil {
		t.Fatal(err)
	}
	type canister struct {
		CanisterID       string   `json:"canister_id"`
		Badges           []string `json:"badges"`
		ImmutableSince   *string  `json:"immutable_since"`
		BadgesComputedAt *string  `json:"badges_computed_at"`
	}
	t.Run("One", func(t *testing.T) {
		var c canister
		a.do("GET", "/canisters/"+string(idLedger), nil).JSON(t, &c)
		if fmt.Sprint(c.Badges) != "[blackholed immutable]" || c.ImmutableSince == nil || *c.ImmutableSince != since.Format(time.RFC3339Nano) ||
			c.BadgesComputedAt == nil {
			t.Errorf("got %+v", c)
		}
		var none canister
		a.do("GET", "/canisters/"+string(idMiner), nil).JSON(t, &none)
		if none.Badges == nil || len(none.Badges) != 0 || none.BadgesComputedAt != nil {
			t.Errorf("never computed: %+v", none)
		}
	})
	for _, tc := range []struct {
		badge string
		want  string
	}{
		{"blackholed", "[" + string(idLedger) + "]"},
		{"immutable", "[" + string(idLedger) + "]"},
		{"verified", "[]"},
		{"controller_changed", "[]"},
	} {
		t.Run("Filter/"+tc.badge, func(t *testing.T) {
			var l struct {
				Items []canister `json:"items"`
			}
			r := a.do("GET", "/canisters?badge="+tc.badge, nil)
			r.JSON(t, &l)
			got := []string{}
			for _, c := range l.Items {
				got = append(got, c.CanisterID)
			}
			if fmt.Sprint(got) != tc.want {
				t.Errorf("got %v, want %s", got, tc.want)
			}
		})
	}
	t.Run("ErrBadge", func(t *testing.T) {
		r := a.do("GET", "/canisters?badge=trusted", nil)
		if r.Status != http.StatusBadRequest || r.ErrorCode(t) != "invalid" {
			t.Errorf("%d %s", r.Status, r.Body)
		}
	})
}
