package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/aviate-labs/agent-go/principal"

	"canistry/pkg/httperror"
	"canistry/pkg/registry"
	"canistry/pkg/store/storetest"
)

type apiCanister struct {
	CanisterID  string   `json:"canister_id"`
	Kind        string   `json:"kind"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Tags        []string `json:"tags"`
	ModuleHash  *string  `json:"module_hash"`
	Verified    bool     `json:"verified"`
	Build       *struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	} `json:"build"`
	LastSuccessAt *string `json:"last_success_at"`
	LastError     *string `json:"last_error"`
	Stale         bool    `json:"stale"`
}

type apiList[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
	Total      *int64  `json:"total"`
	Limit      int     `json:"limit"`
}

func registerCanister(t *testing.T, a *testAPI, id registry.CanisterID, kind string, extra ...any) apiCanister {
	t.Helper()
	body := map[string]any{"canister_id": string(id), "kind": kind}
	for i := 0; i+1 < len(extra); i += 2 {
		body[extra[i].(string)] = extra[i+1]
	}
	r := a.admin("POST", "/canisters", body)
	if r.Status != http.StatusCreated {
		t.Fatalf("register %s: %d %s", id, r.Status, r.Body)
	}
	var out apiCanister
	r.JSON(t, &out)
	return out
}

func TestAPI_RegisterCanister(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		a := newTestAPI(t, apiOptions{adminKey: testAdminKey})
		ev := a.listen()
		r := a.admin("POST", "/canisters", map[string]any{"canister_id": string(idLedger), "kind": "token",
			"name": "ICP ledger", "description": "the ledger", "tags": []string{"ledger", "nns"}})
		if r.Status != http.StatusCreated || r.Header.Get("Location") != "/canisters/"+string(idLedger) {
			t.Fatalf("got %d %v %s", r.Status, r.Header, r.Body)
		}
		var c apiCanister
		r.JSON(t, &c)
		if c.CanisterID != string(idLedger) || c.Kind != "token" || c.Name != "ICP ledger" || len(c.Tags) != 2 ||
			c.ModuleHash != nil || c.Verified || c.LastSuccessAt != nil || !c.Stale {
			t.Fatalf("got %+v", c)
		}
		e := ev.nextEvent(t)
		var data apiCanister
		if err := json.Unmarshal(e.Data, &data); err != nil || e.Event != registry.EventCanisterRegistered || data.CanisterID != string(idLedger) {
			t.Fatalf("event %+v (%v)", e, err)
		}
		if req := ev.nextRefresh(t); req.CanisterID != string(idLedger) {
			t.Fatalf("refresh request %+v", req)
		}
		got := a.do("GET", "/canisters/"+string(idLedger), nil)
		if got.Status != http.StatusOK || got.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Fatalf("GET: %d %v", got.Status, got.Header)
		}
	})
	t.Run("ErrConflict", func(t *testing.T) {
		a := newTestAPI(t, apiOptions{adminKey: testAdminKey})
		registerCanister(t, a, idLedger, "token")
		r := a.admin("POST", "/canisters", map[string]any{"canister_id": string(idLedger), "kind": "miner"})
		if r.Status != http.StatusConflict || r.ErrorCode(t) != "conflict" {
			t.Fatalf("got %d %s", r.Status, r.Body)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		a := newTestAPI(t, apiOptions{adminKey: testAdminKey})
		long := strings.Repeat("x", registry.MaxNameLen+1)
		bad := "ryjl3-tyaaa-aaaaa-aaabb-cai" // idLedger with one character changed: the checksum fails
		for _, tt := range []struct {
			name, body string
			status     int
		}{
			{"NoID", `{"kind":"token"}`, 400},
			{"BadChecksum", `{"canister_id":"` + bad + `","kind":"token"}`, 400},
			{"NotCanonical", `{"canister_id":"RYJL3-TYAAA-AAAAA-AAABA-CAI","kind":"token"}`, 400},
			{"NoKind", `{"canister_id":"` + string(idLedger) + `"}`, 400},
			{"BadKind", `{"canister_id":"` + string(idLedger) + `","kind":"coin"}`, 400},
			{"LongName", `{"canister_id":"` + string(idLedger) + `","kind":"token","name":"` + long + `"}`, 400},
			{"BadTag", `{"canister_id":"` + string(idLedger) + `","kind":"token","tags":["Has Space"]}`, 400},
			{"RepeatedTag", `{"canister_id":"` + string(idLedger) + `","kind":"token","tags":["a","a"]}`, 400},
			{"UnknownField", `{"canister_id":"` + string(idLedger) + `","kind":"token","owner":"me"}`, 400},
			{"WrongType", `{"canister_id":"` + string(idLedger) + `","kind":"token","tags":"a"}`, 400},
			{"Trailing", `{"canister_id":"` + string(idLedger) + `","kind":"token"} {}`, 400},
			{"TrailingGarbage", `{"canister_id":"` + string(idLedger) + `","kind":"token"}x`, 400},
			{"Syntax", `{"canister_id":`, 400},
			{"Empty", ``, 400},
			{"Array", `[]`, 400},
			{"TooLarge", `{"canister_id":"` + string(idLedger) + `","kind":"token","description":"` + strings.Repeat("a", 1<<20) + `"}`, 413},
		} {
			t.Run(tt.name, func(t *testing.T) {
				r := a.admin("POST", "/canisters", tt.body)
				if r.Status != tt.status {
					t.Fatalf("got %d %s", r.Status, r.Body)
				}
				if r.Status == 413 && r.ErrorCode(t) != "too_large" || r.Status == 400 && r.ErrorCode(t) != "invalid" {
					t.Fatalf("code %s", r.Body)
				}
			})
		}
		var e httperror.Body
		a.admin("POST", "/canisters", `{"canister_id":"`+bad+`","kind":"token"}`).JSON(t, &e)
		if !strings.Contains(e.Error.Message, "checksum") || strings.ContainsFunc(e.Error.Message, func(r rune) bool { return r == utf8.RuneError || r < 0x20 }) {
			t.Fatalf("checksum message %q", e.Error.Message)
		}
		r := a.do("POST", "/canisters", `canister_id=x`, "Authorization", "Bearer "+testAdminKey, "Content-Type", "application/x-www-form-urlencoded")
		if r.Status != http.StatusUnsupportedMediaType || r.ErrorCode(t) != "unsupported" {
			t.Fatalf("form body: %d %s", r.Status, r.Body)
		}
		if r := a.do("GET", "/canisters", nil); !strings.Contains(string(r.Body), `"total":0`) {
			t.Fatalf("a rejected register was stored: %s", r.Body)
		}
	})
}

func TestAPI_GetCanister_Errors(t *testing.T) {
	a := newTestAPI(t, apiOptions{adminKey: testAdminKey})
	if r := a.do("GET", "/canisters/"+string(idLedger), nil); r.Status != 404 || r.ErrorCode(t) != "not_found" {
		t.Fatalf("unknown: %d %s", r.Status, r.Body)
	}
	if r := a.do("GET", "/canisters/not-a-principal", nil); r.Status != 400 || r.ErrorCode(t) != "invalid" {
		t.Fatalf("bad id: %d %s", r.Status, r.Body)
	}
	if r := a.do("GET", "/canisters/"+string(idLedger)+"?stale_after=forever", nil); r.Status != 400 {
		t.Fatalf("bad stale_after: %d %s", r.Status, r.Body)
	}
	if r := a.do("GET", "/no/such/route", nil); r.Status != 404 || r.ErrorCode(t) != "not_found" {
		t.Fatalf("no route: %d %s", r.Status, r.Body)
	}
	if r := a.do("PATCH", "/canisters", nil); r.Status != 405 || r.ErrorCode(t) != "invalid" || r.Header.Get("Allow") == "" {
		t.Fatalf("wrong method: %d %s", r.Status, r.Body)
	}
}

func TestAPI_UpdateCanister(t *testing.T) {
	a := newTestAPI(t, apiOptions{adminKey: testAdminKey})
	registerCanister(t, a, idLedger, "token", "name", "old", "description", "keep")
	ev := a.listen()
	a.Clock.Advance(60e9)
	r := a.admin("PUT", "/canisters/"+string(idLedger), map[string]any{"canister_id": string(idLedger), "name": "new", "tags": []string{"x"}})
	if r.Status != http.StatusOK {
		t.Fatalf("got %d %s", r.Status, r.Body)
	}
	var c apiCanister
	r.JSON(t, &c)
	if c.Name != "new" || c.Description != "keep" || len(c.Tags) != 1 || c.Kind != "token" {
		t.Fatalf("got %+v", c)
	}
	if e := ev.nextEvent(t); e.Event != registry.EventCanisterUpdated {
		t.Fatalf("event %+v", e)
	}
	for _, tt := range []struct {
		name, path, body string
		status           int
	}{
		{"Empty", "/canisters/" + string(idLedger), `{}`, 400},
		{"OtherID", "/canisters/" + string(idLedger), `{"canister_id":"` + string(idMiner) + `","name":"x"}`, 400},
		{"BadKind", "/canisters/" + string(idLedger), `{"kind":"coin"}`, 400},
		{"Unknown", "/canisters/" + string(idLedger), `{"verified":true}`, 400},
		{"NotFound", "/canisters/" + string(idMiner), `{"name":"x"}`, 404},
		{"BadID", "/canisters/xyz", `{"name":"x"}`, 400},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if r := a.admin("PUT", tt.path, tt.body); r.Status != tt.status {
				t.Fatalf("got %d %s", r.Status, r.Body)
			}
		})
	}
}

func TestAPI_DeleteCanister(t *testing.T) {
	a := newTestAPI(t, apiOptions{adminKey: testAdminKey})
	registerCanister(t, a, idLedger, "token")
	ev := a.listen()
	if r := a.admin("DELETE", "/canisters/"+string(idLedger), nil); r.Status != http.StatusNoContent || len(r.Body) != 0 {
		t.Fatalf("got %d %s", r.Status, r.Body)
	}
	if e := ev.nextEvent(t); e.Event != registry.EventCanisterDeleted {
		t.Fatalf("event %+v", e)
	}
	if r := a.do("GET", "/canisters/"+string(idLedger), nil); r.Status != 404 {
		t.Fatalf("after delete: %d", r.Status)
	}
	if r := a.admin("DELETE", "/canisters/"+string(idLedger), nil); r.Status != 404 {
		t.Fatalf("second delete: %d", r.Status)
	}
}

func TestAPI_ListCanisters(t *testing.T) {
	a := newTestAPI(t, apiOptions{adminKey: testAdminKey})
	registerCanister(t, a, idLedger, "token", "name", "Internet Computer", "tags", []string{"nns"})
	registerCanister(t, a, idMiner, "miner", "name", "Miner One")
	registerCanister(t, a, idToken2, "token", "name", "ckBTC", "tags", []string{"ck", "nns"})
	registerCanister(t, a, idWallet, "wallet")
	hash := strings.Repeat("ab", 32)
	if r := a.admin("POST", "/module-hashes", map[string]any{"hash": hash, "name": "ledger", "version": "2.1", "kind": "token"}); r.Status != 201 {
		t.Fatalf("module hash: %d %s", r.Status, r.Body)
	}
	if _, err := storetest.SaveState(t.Context(), a.Store, idToken2, hash, []string{string(idNone)}, a.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	now := a.Clock.Now()
	if err := a.Store.RecordRefresh(t.Context(), idMiner, registry.RefreshState{LastSuccessAt: &now}); err != nil {
		t.Fatal(err)
	}
	ids := func(q string) []string {
		t.Helper()
		r := a.do("GET", "/canisters"+q, nil)
		if r.Status != 200 {
			t.Fatalf("GET /canisters%s: %d %s", q, r.Status, r.Body)
		}
		var l apiList[apiCanister]
		r.JSON(t, &l)
		var out []string
		for _, c := range l.Items {
			out = append(out, c.CanisterID[:5])
		}
		return out
	}
	for _, tt := range []struct{ q, want string }{
		{"", "ryjl3 rrkah mxzaz qaa6y"},
		{"?kind=token", "ryjl3 mxzaz"},
		{"?tag=nns", "ryjl3 mxzaz"},
		{"?tag=ck", "mxzaz"},
		{"?verified=true", "mxzaz"},
		{"?verified=false&kind=token", "ryjl3"},
		{"?stale=false", "rrkah"},
		{"?stale=true", "ryjl3 mxzaz qaa6y"},
		{"?q=internet", "ryjl3"},
		{"?q=QAA6Y", "qaa6y"},
		{"?order=desc&limit=2", "qaa6y mxzaz"},
	} {
		if got := strings.Join(ids(tt.q), " "); got != tt.want {
			t.Errorf("GET /canisters%s = %q, want %q", tt.q, got, tt.want)
		}
	}
	t.Run("StaleAfter", func(t *testing.T) {
		a.Clock.Advance(10 * 60e9)
		if got := strings.Join(ids("?stale=false"), " "); got != "" {
			t.Errorf("fresh after 10m with the 3m default: %q", got)
		}
		if got := strings.Join(ids("?stale=false&stale_after=1h"), " "); got != "rrkah" {
			t.Errorf("fresh with stale_after=1h: %q", got)
		}
	})
	t.Run("VerifiedBuild", func(t *testing.T) {
		var c apiCanister
		a.do("GET", "/canisters/"+string(idToken2), nil).JSON(t, &c)
		if !c.Verified || c.Build == nil || c.Build.Name != "ledger" || c.Build.Version != "2.1" || c.ModuleHash == nil || *c.ModuleHash != hash {
			t.Fatalf("got %+v", c)
		}
	})
	t.Run("BadParams", func(t *testing.T) {
		for _, q := range []string{"?limit=0", "?limit=501", "?limit=x", "?kind=coin", "?verified=maybe", "?stale=2",
			"?cursor=nope", "?order=up", "?kinds=token", "?limit=1&limit=2", "?q=" + strings.Repeat("a", 101)} {
			r := a.do("GET", "/canisters"+q, nil)
			if r.Status != 400 || r.ErrorCode(t) != "invalid" {
				t.Errorf("GET /canisters%s: %d %s", q, r.Status, r.Body)
			}
		}
		var l apiList[apiCanister]
		a.do("GET", "/canisters?limit=1", nil).JSON(t, &l)
		if r := a.do("GET", "/canisters?order=desc&cursor="+*l.NextCursor, nil); r.Status != 400 {
			t.Errorf("ascending cursor with order=desc: %d", r.Status)
		}
	})
}

// TestAPI_ListCanisters_PagesUnderConcurrentInserts pages through GET /canisters while other
// clients register canisters: every canister registered before paging began is returned
// exactly once, none twice, and the last page has no next_cursor.
func TestAPI_ListCanisters_PagesUnderConcurrentInserts(t *testing.T) {
	a := newTestAPI(t, apiOptions{adminKey: testAdminKey})
	ids := make([]registry.CanisterID, 150)
	for i := range ids {
		ids[i] = registry.CanisterID(principal.Principal{Raw: []byte{0, 0, 0, 0, 2, byte(i >> 8), byte(i), 1, 1}}.Encode())
	}
	for _, id := range ids[:60] {
		registerCanister(t, a, id, "other")
	}
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Go(func() {
			for i := 60 + w; i < len(ids); i += 3 {
				body := `{"canister_id":"` + string(ids[i]) + `","kind":"other"}`
				req, _ := http.NewRequestWithContext(t.Context(), "POST", a.URL+"/canisters", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+testAdminKey)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				res.Body.Close()
				if res.StatusCode != 201 {
					t.Errorf("register: %d", res.StatusCode)
				}
			}
		})
	}
	seen := map[string]int{}
	q := "/canisters?limit=7"
	pages := 0
	for {
		var l apiList[apiCanister]
		a.do("GET", q, nil).JSON(t, &l)
		pages++
		for _, c := range l.Items {
			seen[c.CanisterID]++
		}
		if l.Total == nil || *l.Total < 60 || l.Limit != 7 || len(l.Items) > 7 {
			t.Fatalf("page %d: total %v, limit %d, %d items", pages, l.Total, l.Limit, len(l.Items))
		}
		if l.NextCursor == nil {
			break
		}
		q = "/canisters?limit=7&cursor=" + *l.NextCursor
	}
	wg.Wait()
	for _, id := range ids[:60] {
		if seen[string(id)] != 1 {
			t.Fatalf("%s seen %d times", id, seen[string(id)])
		}
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("%s seen %d times", id, n)
		}
	}
}

// TestAPI_RegistryEventsLogged: each registry write logs its event in the write's own
// transaction, so a client replaying with ?since= sees it; the bus carries the same event
// (id and cursor) as the doorbell; a refused write logs nothing.
func TestAPI_RegistryEventsLogged(t *testing.T) {
	a := newTestAPI(t, apiOptions{adminKey: testAdminKey})
	ev := a.listen()
	registerCanister(t, a, idLedger, "token")
	a.admin("POST", "/canisters", map[string]any{"canister_id": string(idLedger), "kind": "miner"}) // 409
	if r := a.admin("PUT", "/canisters/"+string(idLedger), map[string]any{"name": "renamed"}); r.Status != http.StatusOK {
		t.Fatalf("PUT: %d %s", r.Status, r.Body)
	}
	if r := a.admin("DELETE", "/canisters/"+string(idLedger), nil); r.Status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", r.Status, r.Body)
	}
	logged, err := a.Store.Events(t.Context(), 0, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{registry.EventCanisterRegistered, registry.EventCanisterUpdated, registry.EventCanisterDeleted}
	if len(logged) != len(want) {
		t.Fatalf("logged %d events, want %d: %+v", len(logged), len(want), logged)
	}
	for i, e := range logged {
		var data apiCanister
		if err := json.Unmarshal(e.Data, &data); err != nil || e.Event != want[i] || e.ID != int64(i+1) ||
			data.CanisterID != string(idLedger) || e.Cursor != a.Store.Epoch()+":"+strconv.Itoa(i+1) {
			t.Errorf("logged event %d: %+v (%v)", i, e, err)
		}
		if got := ev.nextEvent(t); got.ID != e.ID || got.Cursor != e.Cursor || got.Event != e.Event || !bytes.Equal(got.Data, e.Data) {
			t.Errorf("bus event %d: %+v, want the logged %+v", i, got, e)
		}
		if i == 0 {
			ev.nextRefresh(t)
		}
	}
}
