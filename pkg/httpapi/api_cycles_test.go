package httpapi_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"canistry/pkg/registry"
)

func TestAPI_CanisterCycles(t *testing.T) {
	a := newTestAPI(t, apiOptions{adminKey: testAdminKey})
	registerCanister(t, a, idWallet, "wallet")
	registerCanister(t, a, idLedger, "token")
	now := a.Clock.Now()
	for i := range 3 {
		st := registry.CyclesPoint{CanisterID: idWallet, ObservedAt: now.Add(time.Duration(i-3) * time.Hour), Status: "running",
			Cycles: "340282366920938463463374607431768211456", MemorySize: "1048576", IdleCyclesPerDay: []string{"", "0", "1000000000000"}[i]}
		if err := a.Store.AddCycles(t.Context(), st, now.Add(-48*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	type reply struct {
		Series []struct {
			ObservedAt string  `json:"observed_at"`
			Cycles     string  `json:"cycles"`
			Idle       *string `json:"idle_cycles_per_day"`
			Runway     *string `json:"runway_days"`
		} `json:"series"`
		NextCursor *string `json:"next_cursor"`
	}
	t.Run("OK", func(t *testing.T) {
		var r reply
		a.do("GET", "/canisters/"+string(idWallet)+"/cycles", nil).JSON(t, &r)
		if len(r.Series) != 3 || r.Series[0].Idle != nil || r.Series[0].Runway != nil || r.Series[1].Runway != nil ||
			r.Series[2].Runway == nil || *r.Series[2].Runway != "340282366920938463463374607" || r.NextCursor != nil {
			t.Errorf("got %+v", r)
		}
	})
	t.Run("Paged", func(t *testing.T) {
		res := a.do("GET", "/canisters/"+string(idWallet)+"/cycles?limit=2&from="+url.QueryEscape(now.Add(-5*time.Hour).Format(time.RFC3339)), nil)
		var r reply
		res.JSON(t, &r)
		if len(r.Series) != 2 || r.NextCursor == nil || res.Header.Get("Link") == "" {
			t.Fatalf("first page %+v, Link %q", r, res.Header.Get("Link"))
		}
	})
	t.Run("NoStatusCanister", func(t *testing.T) {
		var r reply
		a.do("GET", "/canisters/"+string(idLedger)+"/cycles", nil).JSON(t, &r)
		if r.Series == nil || len(r.Series) != 0 {
			t.Errorf("got %+v, want an empty series", r)
		}
	})
	for _, tc := range []struct {
		name, path, code string
		status           int
	}{
		{"ErrNotFound", "/canisters/" + string(idMiner) + "/cycles", "not_found", http.StatusNotFound},
		{"ErrID", "/canisters/nope/cycles", "invalid", http.StatusBadRequest},
		{"ErrRange", "/canisters/" + string(idWallet) + "/cycles?from=2025-03-02T00:00:00Z&to=2025-03-01T00:00:00Z", "invalid", http.StatusBadRequest},
		{"ErrParam", "/canisters/" + string(idWallet) + "/cycles?since=1", "invalid", http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := a.do("GET", tc.path, nil)
			if r.Status != tc.status || r.ErrorCode(t) != tc.code {
				t.Errorf("%d %s", r.Status, r.Body)
			}
		})
	}
}
