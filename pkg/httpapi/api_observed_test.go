package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"canistry/pkg/registry"
	"canistry/pkg/store/storetest"
)

const apiPNGLogo = "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"

// seedObserved registers a PoW token, an ICRC-1 token, two miners and a wallet, and writes
// what the poller would have read from them straight to the store.
func seedObserved(t *testing.T, a *testAPI) {
	t.Helper()
	ctx := t.Context()
	registerCanister(t, a, idLedger, "token", "name", "registered ICP")
	registerCanister(t, a, idToken2, "token")
	registerCanister(t, a, idMiner, "miner", "name", "rig one")
	registerCanister(t, a, idMiner2, "miner")
	registerCanister(t, a, idWallet, "wallet")
	now := a.Clock.Now()
	abt := 12.5
	_, err := storetest.SaveToken(ctx, a.Store, registry.TokenInfo{CanisterID: idLedger, Interfaces: []string{"icrc1", "pow"},
		Name: "Internet Computer", Symbol: "ICP", Decimals: 8, Fee: "10000",
		TotalSupply: "340282366920938463463374607431768211456", MintingAccount: string(idNone),
		SupportedStandards: []registry.Standard{{Name: "ICRC-1", URL: "https://github.com/dfinity/ICRC-1"}},
		Metadata:           map[string]any{"icrc1:decimals": "8"}, Logo: []byte(apiPNGLogo), LogoMediaType: "image/png",
		LedgerID: string(idToken2), BlockHeight: "123", BlockReward: "5000000000", AverageBlockTime: &abt,
		SocialLinks: []registry.SocialLink{{Platform: "x", URL: "https://x.com/icp"}}, UpdatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := storetest.SaveToken(ctx, a.Store, registry.TokenInfo{CanisterID: idToken2, Interfaces: []string{"icrc1"},
		Name: "ckBTC", Symbol: "ckBTC", Decimals: 8, Fee: "10", TotalSupply: "21", UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := a.Store.RecordRefresh(ctx, idLedger, registry.RefreshState{LastAttemptAt: &now, LastSuccessAt: &now}); err != nil {
		t.Fatal(err)
	}
	if err := a.Store.RecordRefresh(ctx, idToken2, registry.RefreshState{LastAttemptAt: &now, LastError: "IC reject 5: canister trapped",
		ConsecutiveFailures: 2}); err != nil {
		t.Fatal(err)
	}
	cph := 1.25e9
	for i, id := range []registry.CanisterID{idMiner, idMiner2} {
		_, err := storetest.SaveMiner(ctx, a.Store, registry.MinerInfo{CanisterID: id, CurrentToken: string(idLedger), IsMining: i == 0,
			SpeedPercentage: 80, ChunkSize: 1 << 62, ChunksPerRefresh: 4, ICRCVersion: 1, SupportsStats: true,
			CycleBalance: "99999999999999999999", CycleUsagePerHour: &cph, UpdatedAt: now})
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		err := storetest.AddMinerStats(ctx, a.Store, registry.MinerStats{CanisterID: idMiner, ObservedAt: now.Add(time.Duration(i-4) * time.Minute),
			BlocksMined: uint64(i), TotalHashes: 1 << 60, HashRate: 1234.5, TotalRewards: uint64(i) * 50,
			StartTime: uint64(now.Add(-time.Hour).UnixNano())})
		if err != nil {
			t.Fatal(err)
		}
	}
}

type apiToken struct {
	CanisterID     string         `json:"canister_id"`
	RegisteredName string         `json:"registered_name"`
	Symbol         string         `json:"symbol"`
	Fee            *string        `json:"fee"`
	TotalSupply    *string        `json:"total_supply"`
	Logo           *string        `json:"logo"`
	Metadata       map[string]any `json:"metadata"`
	PoW            *struct {
		LedgerID    *string `json:"ledger_id"`
		BlockReward *string `json:"block_reward"`
	} `json:"pow"`
	LastSuccessAt       *string `json:"last_success_at"`
	LastError           *string `json:"last_error"`
	ConsecutiveFailures int     `json:"consecutive_failures"`
	Stale               bool    `json:"stale"`
}

func TestAPI_Tokens(t *testing.T) {
	a := newTestAPI(t, apiOptions{adminKey: testAdminKey})
	seedObserved(t, a)
	t.Run("Get", func(t *testing.T) {
		r := a.do("GET", "/tokens/"+string(idLedger), nil)
		if r.Status != 200 {
			t.Fatalf("got %d %s", r.Status, r.Body)
		}
		var tok apiToken
		r.JSON(t, &tok)
		if tok.Symbol != "ICP" || *tok.TotalSupply != "340282366920938463463374607431768211456" || *tok.Fee != "10000" ||
			tok.RegisteredName != "registered ICP" || tok.Logo == nil || *tok.Logo != "/tokens/"+string(idLedger)+"/logo" ||
			tok.PoW == nil || *tok.PoW.BlockReward != "5000000000" || tok.LastSuccessAt == nil || tok.LastError != nil || tok.Stale {
			t.Fatalf("got %s", r.Body)
		}
		if !strings.Contains(string(r.Body), `"last_success_at":"2025-03-01T12:00:00Z"`) {
			t.Fatalf("time not RFC 3339 UTC: %s", r.Body)
		}
	})
	t.Run("Staleness", func(t *testing.T) {
		var tok apiToken
		a.do("GET", "/tokens/"+string(idToken2), nil).JSON(t, &tok)
		if tok.LastSuccessAt != nil || tok.LastError == nil || !strings.Contains(*tok.LastError, "trapped") ||
			tok.ConsecutiveFailures != 2 || !tok.Stale || tok.PoW != nil || tok.Logo != nil {
			t.Fatalf("got %+v", tok)
		}
	})
	t.Run("List", func(t *testing.T) {
		for _, tt := range []struct {
			q    string
			want int
		}{{"", 2}, {"?q=ckb", 1}, {"?stale=true", 1}, {"?stale=false", 1}, {"?limit=1", 1}} {
			var l apiList[apiToken]
			r := a.do("GET", "/tokens"+tt.q, nil)
			r.JSON(t, &l)
			if r.Status != 200 || len(l.Items) != tt.want {
				t.Errorf("GET /tokens%s: %d, %d items", tt.q, r.Status, len(l.Items))
			}
		}
	})
	t.Run("Errors", func(t *testing.T) {
		if r := a.do("GET", "/tokens/"+string(idMiner), nil); r.Status != 404 {
			t.Fatalf("a miner as token: %d", r.Status)
		}
		if r := a.do("GET", "/tokens/xyz", nil); r.Status != 400 {
			t.Fatalf("bad id: %d", r.Status)
		}
		if r := a.do("GET", "/tokens?mining=true", nil); r.Status != 400 {
			t.Fatalf("unknown param: %d", r.Status)
		}
	})
}

func TestAPI_TokenLogo(t *testing.T) {
	a := newTestAPI(t, apiOptions{adminKey: testAdminKey})
	seedObserved(t, a)
	check := func(t *testing.T, r apiReply, ctype string) {
		t.Helper()
		if r.Status != 200 || r.Header.Get("Content-Type") != ctype {
			t.Fatalf("got %d %v", r.Status, r.Header)
		}
		for k, v := range map[string]string{"Content-Security-Policy": "default-src 'none'", "X-Content-Type-Options": "nosniff",
			"Content-Disposition": "inline", "Access-Control-Allow-Origin": "*"} {
			if got := r.Header.Get(k); got != v {
				t.Errorf("%s = %q, want %q", k, got, v)
			}
		}
	}
	t.Run("PNG", func(t *testing.T) {
		r := a.do("GET", "/tokens/"+string(idLedger)+"/logo", nil)
		check(t, r, "image/png")
		if string(r.Body) != apiPNGLogo {
			t.Fatalf("body %q", r.Body)
		}
		if r2 := a.do("GET", "/tokens/"+string(idLedger)+"/logo", nil, "If-None-Match", r.Header.Get("ETag")); r2.Status != http.StatusNotModified {
			t.Fatalf("If-None-Match: %d", r2.Status)
		}
	})
	t.Run("None", func(t *testing.T) {
		if r := a.do("GET", "/tokens/"+string(idToken2)+"/logo", nil); r.Status != 404 || r.ErrorCode(t) != "not_found" {
			t.Fatalf("got %d %s", r.Status, r.Body)
		}
	})
	for _, tt := range []struct {
		name, declared, data, want string
	}{
		{"DeclaredTypeIgnored", "text/html", apiPNGLogo, "image/png"},
		{"JPEGDeclaredPNG", "image/png", "\xff\xd8\xff\xe0JFIF", "image/jpeg"},
		{"SVG", "image/svg+xml", `<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`, "image/svg+xml"},
		{"HTMLAsPNG", "image/png", `<html><script>alert(1)</script></html>`, ""},
		{"HTMLAsSVG", "image/svg+xml", `<html><svg></svg><script>alert(1)</script></html>`, ""},
		{"SVGUndeclared", "image/png", `<svg xmlns="http://www.w3.org/2000/svg"></svg>`, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := storetest.SaveToken(t.Context(), a.Store, registry.TokenInfo{CanisterID: idToken2, Logo: []byte(tt.data),
				LogoMediaType: tt.declared, UpdatedAt: a.Clock.Now()}); err != nil {
				t.Fatal(err)
			}
			r := a.do("GET", "/tokens/"+string(idToken2)+"/logo", nil)
			if tt.want == "" {
				if r.Status != 404 || strings.Contains(r.Header.Get("Content-Type"), "html") {
					t.Fatalf("served %d %s", r.Status, r.Header.Get("Content-Type"))
				}
				return
			}
			check(t, r, tt.want)
		})
	}
}

type apiMiner struct {
	CanisterID     string  `json:"canister_id"`
	RegisteredName string  `json:"registered_name"`
	CurrentToken   *string `json:"current_token"`
	IsMining       bool    `json:"is_mining"`
	ChunkSize      string  `json:"chunk_size"`
	CycleBalance   *string `json:"cycle_balance"`
	Stale          bool    `json:"stale"`
}

func TestAPI_Miners(t *testing.T) {
	a := newTestAPI(t, apiOptions{adminKey: testAdminKey})
	seedObserved(t, a)
	t.Run("Get", func(t *testing.T) {
		var m apiMiner
		r := a.do("GET", "/miners/"+string(idMiner), nil)
		r.JSON(t, &m)
		if r.Status != 200 || m.ChunkSize != "4611686018427387904" || *m.CycleBalance != "99999999999999999999" ||
			*m.CurrentToken != string(idLedger) || !m.IsMining || m.RegisteredName != "rig one" || !m.Stale {
			t.Fatalf("got %d %s", r.Status, r.Body)
		}
		if r := a.do("GET", "/miners/"+string(idWallet), nil); r.Status != 404 {
			t.Fatalf("wallet as miner: %d", r.Status)
		}
	})
	t.Run("List", func(t *testing.T) {
		for _, tt := range []struct {
			path string
			want int
		}{
			{"/miners", 2}, {"/miners?mining=true", 1}, {"/miners?token=" + string(idLedger), 2}, {"/miners?token=" + string(idToken2), 0},
			{"/miners?q=rig", 1}, {"/miners/by-token/" + string(idLedger), 2}, {"/miners/by-token/" + string(idLedger) + "?mining=false", 1},
			{"/miners/by-token/" + string(idToken2), 0},
		} {
			var l apiList[apiMiner]
			r := a.do("GET", tt.path, nil)
			r.JSON(t, &l)
			if r.Status != 200 || len(l.Items) != tt.want || *l.Total != int64(tt.want) {
				t.Errorf("GET %s: %d, %d items", tt.path, r.Status, len(l.Items))
			}
		}
		if r := a.do("GET", "/miners/by-token/nope", nil); r.Status != 400 {
			t.Errorf("bad token id: %d", r.Status)
		}
		if r := a.do("GET", "/miners?token=nope", nil); r.Status != 400 {
			t.Errorf("bad token filter: %d", r.Status)
		}
	})
}

func TestAPI_MinerStats(t *testing.T) {
	a := newTestAPI(t, apiOptions{adminKey: testAdminKey})
	seedObserved(t, a)
	type statsOut struct {
		Latest *struct {
			BlocksMined string  `json:"blocks_mined"`
			TotalHashes string  `json:"total_hashes"`
			StartTime   *string `json:"start_time"`
		} `json:"latest"`
		Series *[]struct {
			BlocksMined string `json:"blocks_mined"`
		} `json:"series"`
		NextCursor *string `json:"next_cursor"`
	}
	var s statsOut
	r := a.do("GET", "/miners/"+string(idMiner)+"/stats", nil)
	r.JSON(t, &s)
	if r.Status != 200 || s.Latest == nil || s.Latest.BlocksMined != "4" || s.Latest.TotalHashes != "1152921504606846976" ||
		s.Latest.StartTime == nil || s.Series != nil {
		t.Fatalf("latest: %d %s", r.Status, r.Body)
	}
	var got []string
	q := "/miners/" + string(idMiner) + "/stats?from=2025-03-01T11:57:00Z&to=2025-03-01T12:00:00Z&limit=2"
	for {
		var p statsOut
		a.do("GET", q, nil).JSON(t, &p)
		if p.Series == nil {
			t.Fatalf("no series")
		}
		for _, pt := range *p.Series {
			got = append(got, pt.BlocksMined)
		}
		if p.NextCursor == nil {
			break
		}
		q = "/miners/" + string(idMiner) + "/stats?from=2025-03-01T11:57:00Z&to=2025-03-01T12:00:00Z&limit=2&cursor=" + *p.NextCursor
	}
	if strings.Join(got, ",") != "1,2,3,4" {
		t.Fatalf("series %v", got)
	}
	var empty statsOut
	a.do("GET", "/miners/"+string(idMiner2)+"/stats?from=2025-03-01T00:00:00Z", nil).JSON(t, &empty)
	if empty.Latest != nil || empty.Series == nil || len(*empty.Series) != 0 {
		t.Fatalf("no stats: %+v", empty)
	}
	for _, q := range []string{"?from=yesterday", "?from=2025-03-02T00:00:00Z&to=2025-03-01T00:00:00Z",
		"?from=2020-01-01T00:00:00Z", "?limit=5", "?window=1h"} {
		if r := a.do("GET", "/miners/"+string(idMiner)+"/stats"+q, nil); r.Status != 400 {
			t.Errorf("stats%s: %d %s", q, r.Status, r.Body)
		}
	}
	if r := a.do("GET", "/miners/"+string(idNone)+"/stats", nil); r.Status != 404 {
		t.Errorf("unregistered: %d", r.Status)
	}
}

func TestAPI_CanisterHistory(t *testing.T) {
	a := newTestAPI(t, apiOptions{adminKey: testAdminKey})
	registerCanister(t, a, idLedger, "token")
	for i, h := range []string{strings.Repeat("a", 64), strings.Repeat("b", 64)} {
		a.Clock.Advance(time.Minute)
		if _, err := storetest.SaveState(t.Context(), a.Store, idLedger, h, []string{string(idNone), string([]registry.CanisterID{idMiner, idWallet}[i])}, a.Clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	type change struct {
		Field string `json:"field"`
		Old   any    `json:"old"`
		New   any    `json:"new"`
	}
	var l apiList[change]
	r := a.do("GET", "/canisters/"+string(idLedger)+"/history?limit=3", nil)
	r.JSON(t, &l)
	if r.Status != 200 || len(l.Items) != 3 || l.NextCursor == nil {
		t.Fatalf("got %d %s", r.Status, r.Body)
	}
	if l.Items[0].New != strings.Repeat("b", 64) && l.Items[1].New != strings.Repeat("b", 64) {
		t.Fatalf("not newest first: %s", r.Body)
	}
	var rest apiList[change]
	a.do("GET", "/canisters/"+string(idLedger)+"/history?limit=3&cursor="+*l.NextCursor, nil).JSON(t, &rest)
	if len(rest.Items) != 1 || rest.NextCursor != nil || rest.Items[0].Old != nil {
		t.Fatalf("page 2: %+v", rest)
	}
	if r := a.admin("DELETE", "/canisters/"+string(idLedger), nil); r.Status != 204 {
		t.Fatal(r.Status)
	}
	if r := a.do("GET", "/canisters/"+string(idLedger)+"/history", nil); r.Status != 200 || !strings.Contains(string(r.Body), `"field":"controllers"`) {
		t.Fatalf("history after delete: %d %s", r.Status, r.Body)
	}
	if r := a.do("GET", "/canisters/"+string(idMiner)+"/history", nil); r.Status != 404 {
		t.Fatalf("never registered: %d", r.Status)
	}
}

func TestAPI_ModuleHashes(t *testing.T) {
	a := newTestAPI(t, apiOptions{adminKey: testAdminKey})
	upper := strings.Repeat("AB", 32)
	r := a.admin("POST", "/module-hashes", map[string]any{"hash": upper, "name": "ledger", "version": "1.2.3", "kind": "token",
		"source_url": "https://github.com/dfinity/ic", "notes": "release build"})
	if r.Status != 201 || !strings.Contains(string(r.Body), `"hash":"`+strings.ToLower(upper)+`"`) {
		t.Fatalf("got %d %s", r.Status, r.Body)
	}
	if r := a.admin("POST", "/module-hashes", map[string]any{"hash": strings.ToLower(upper), "name": "again"}); r.Status != 409 {
		t.Fatalf("duplicate: %d %s", r.Status, r.Body)
	}
	for _, body := range []string{
		`{"hash":"abc","name":"x"}`, `{"hash":"` + strings.Repeat("z", 64) + `","name":"x"}`,
		`{"hash":"` + strings.Repeat("c", 64) + `"}`, `{"hash":"` + strings.Repeat("c", 64) + `","name":"x","kind":"coin"}`,
		`{"hash":"` + strings.Repeat("c", 64) + `","name":"x","source_url":"ftp://x"}`,
		`{"hash":"` + strings.Repeat("c", 64) + `","name":"x","sha":"y"}`,
	} {
		if r := a.admin("POST", "/module-hashes", body); r.Status != 400 {
			t.Errorf("%s: %d %s", body, r.Status, r.Body)
		}
	}
	a.admin("POST", "/module-hashes", map[string]any{"hash": strings.Repeat("c", 64), "name": "miner", "kind": "miner"})
	registerCanister(t, a, idLedger, "token")
	if _, err := storetest.SaveState(t.Context(), a.Store, idLedger, strings.ToLower(upper), nil, a.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	var l apiList[struct {
		Hash      string `json:"hash"`
		Canisters int64  `json:"canisters"`
	}]
	a.do("GET", "/module-hashes", nil).JSON(t, &l)
	if len(l.Items) != 2 || *l.Total != 2 || l.Items[0].Canisters != 1 || l.Items[1].Canisters != 0 {
		t.Fatalf("got %+v", l)
	}
	a.do("GET", "/module-hashes?kind=miner&q=min", nil).JSON(t, &l)
	if len(l.Items) != 1 || l.Items[0].Hash != strings.Repeat("c", 64) {
		t.Fatalf("filtered: %+v", l)
	}
}
