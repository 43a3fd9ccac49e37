package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"canistry/pkg/httperror"
)

// TestAPI_QueryValidation: a query string that does not decode is a 400, like an unknown or
// repeated parameter, on every read that takes parameters; well-formed escapes still filter.
func TestAPI_QueryValidation(t *testing.T) {
	a := newTestAPI(t, apiOptions{adminKey: testAdminKey})
	seedObserved(t, a)
	id, miner := string(idLedger), string(idMiner)
	for _, tc := range []struct {
		target string
		want   int
		msg    string
	}{
		{"/canisters?q=%zz", 400, `the query string is malformed: invalid percent-encoding "%zz"`},
		{"/canisters?q=%", 400, `invalid percent-encoding "%"`},
		{"/canisters?%zz=1", 400, `invalid percent-encoding "%zz"`},
		{"/canisters?q=icp;kind=token", 400, "the query string is malformed: invalid semicolon separator in query"},
		{"/canisters?q=a&q=b", 400, `query parameter "q" is given 2 times`},
		{"/canisters?kinds=token", 400, `unknown query parameter "kinds"`},
		{"/canisters?zz=1&aa=1", 400, `unknown query parameter "aa"`}, // the first by name, every time
		{"/tokens?q=%zz", 400, "invalid percent-encoding"},
		{"/miners?q=%G0", 400, "invalid percent-encoding"},
		{"/miners/by-token/" + id + "?q=%zz", 400, "invalid percent-encoding"},
		{"/module-hashes?q=%zz", 400, "invalid percent-encoding"},
		{"/canisters/" + id + "?stale_after=%zz", 400, "invalid percent-encoding"},
		{"/canisters/" + id + "/history?limit=%zz", 400, "invalid percent-encoding"},
		{"/tokens/" + id + "/logo?%zz", 400, "invalid percent-encoding"},
		{"/miners/" + miner + "/stats?from=%zz", 400, "invalid percent-encoding"},
		{"/canisters?q=%49CP", 200, ""}, // %49 is "I": a valid escape filters as before
		{"/canisters?q=registered+ICP", 200, ""},
	} {
		t.Run(tc.target, func(t *testing.T) {
			r := a.do("GET", tc.target, nil)
			if r.Status != tc.want {
				t.Fatalf("GET %s = %d %s, want %d", tc.target, r.Status, r.Body, tc.want)
			}
			if tc.want != 400 {
				return
			}
			var e httperror.Body
			dec := json.NewDecoder(strings.NewReader(string(r.Body)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&e); err != nil || e.Error.Code != "invalid" || !strings.Contains(e.Error.Message, tc.msg) {
				t.Errorf("body %s, want invalid containing %q", r.Body, tc.msg)
			}
		})
	}
	// The filter of a valid escape applies.
	var list struct {
		Items []struct {
			CanisterID string `json:"canister_id"`
		} `json:"items"`
	}
	a.do("GET", "/canisters?q=%49CP", nil).JSON(t, &list)
	if len(list.Items) != 1 || list.Items[0].CanisterID != id {
		t.Errorf("?q=%%49CP = %+v, want only %s", list.Items, id)
	}
	if r := a.do("GET", "/canisters?q=%zz", nil); r.Status != http.StatusBadRequest {
		t.Errorf("?q=%%zz = %d", r.Status)
	}
}
