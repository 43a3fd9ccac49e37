package store_test

import (
	"strings"
	"testing"
	"time"

	"canistry/pkg/registry"
	"canistry/pkg/store/storetest"
)

func TestStore_Tokens(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s, clk := openRegistryStoreOn(t, b)
		ctx := t.Context()
		mustCreate(t, s, registry.Canister{ID: testIDs[0], Kind: registry.KindToken, Name: "registered ICP"})
		mustCreate(t, s, registry.Canister{ID: testIDs[1], Kind: registry.KindToken})
		mustCreate(t, s, registry.Canister{ID: testIDs[2], Kind: registry.KindToken})
		abt := 1.5
		_, err := storetest.SaveToken(ctx, s, registry.TokenInfo{CanisterID: testIDs[0], Name: "Internet Computer", Symbol: "ICP",
			Decimals: 8, Fee: "10000", TotalSupply: "123456789012345678901234567890", Interfaces: []string{"icrc1"},
			Metadata: map[string]any{"icrc1:name": "Internet Computer"}, AverageBlockTime: &abt,
			Logo: []byte("\x89PNG\r\n"), LogoMediaType: "image/png", UpdatedAt: clk.Now()})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := storetest.SaveToken(ctx, s, registry.TokenInfo{CanisterID: testIDs[1], Name: "Bitcoin", Symbol: "ckBTC", UpdatedAt: clk.Now()}); err != nil {
			t.Fatal(err)
		}
		success := clk.Now()
		if err := s.RecordRefresh(ctx, testIDs[0], registry.RefreshState{LastSuccessAt: &success, LastError: "transient"}); err != nil {
			t.Fatal(err)
		}

		t.Run("Get", func(t *testing.T) {
			tok, err := s.GetToken(ctx, testIDs[0])
			if err != nil {
				t.Fatal(err)
			}
			if tok.Symbol != "ICP" || tok.TotalSupply != "123456789012345678901234567890" || tok.RegisteredAs != "registered ICP" ||
				!tok.HasLogo || tok.LogoMediaType != "image/png" || tok.Refresh.LastError != "transient" ||
				tok.Refresh.LastSuccessAt == nil || tok.AverageBlockTime == nil || tok.Metadata["icrc1:name"] != "Internet Computer" {
				t.Fatalf("got %+v", tok)
			}
		})
		t.Run("GetErrNotFound", func(t *testing.T) {
			if _, err := s.GetToken(ctx, testIDs[2]); registry.ErrorCode(err) != registry.ENOTFOUND {
				t.Fatalf("err = %v", err)
			}
		})
		t.Run("List", func(t *testing.T) {
			yes := true
			for _, tt := range []struct {
				name string
				f    registry.TokenFilter
				want int
			}{
				{"All", registry.TokenFilter{}, 2},
				{"Query", registry.TokenFilter{Query: "ckb"}, 1},
				{"Stale", registry.TokenFilter{Stale: registry.Staleness{Want: &yes, Before: success.Add(-time.Second)}}, 1},
			} {
				tt.f.Page.WithTotal = true
				p, err := s.ListTokens(ctx, tt.f)
				if err != nil || len(p.Items) != tt.want || *p.Total != int64(tt.want) {
					t.Errorf("%s: got %d items, %v", tt.name, len(p.Items), err)
				}
			}
			p, err := s.ListTokens(ctx, registry.TokenFilter{Page: registry.Page{Limit: 1}})
			if err != nil || len(p.Items) != 1 || p.Next == nil || p.Total != nil {
				t.Fatalf("page 1: %+v, %v", p, err)
			}
			p, err = s.ListTokens(ctx, registry.TokenFilter{Page: registry.Page{Limit: 1, After: p.Next.Key}})
			if err != nil || len(p.Items) != 1 || p.Next != nil || p.Items[0].CanisterID != testIDs[1] {
				t.Fatalf("page 2: %+v, %v", p, err)
			}
		})
		t.Run("Logo", func(t *testing.T) {
			l, err := s.TokenLogo(ctx, testIDs[0])
			if err != nil || string(l.Data) != "\x89PNG\r\n" || l.MediaType != "image/png" || l.SHA256 == "" {
				t.Fatalf("got %+v, %v", l, err)
			}
			if _, err := s.TokenLogo(ctx, testIDs[1]); registry.ErrorCode(err) != registry.ENOTFOUND {
				t.Fatalf("err = %v", err)
			}
		})
	})
}

func TestStore_Miners(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s, clk := openRegistryStoreOn(t, b)
		ctx := t.Context()
		for _, id := range testIDs[:3] {
			mustCreate(t, s, registry.Canister{ID: id, Kind: registry.KindMiner, Name: "miner " + string(id[:5])})
		}
		for i, id := range testIDs[:2] {
			_, err := storetest.SaveMiner(ctx, s, registry.MinerInfo{CanisterID: id, CurrentToken: string(testIDs[4]), IsMining: i == 0,
				ChunkSize: 1 << 40, UpdatedAt: clk.Now()})
			if err != nil {
				t.Fatal(err)
			}
		}
		t.Run("Get", func(t *testing.T) {
			m, err := s.GetMiner(ctx, testIDs[0])
			if err != nil || !m.IsMining || m.ChunkSize != 1<<40 || m.RegisteredAs != "miner ryjl3" {
				t.Fatalf("got %+v, %v", m, err)
			}
			if _, err := s.GetMiner(ctx, testIDs[2]); registry.ErrorCode(err) != registry.ENOTFOUND {
				t.Fatalf("err = %v", err)
			}
		})
		t.Run("ByToken", func(t *testing.T) {
			p, err := s.ListMiners(ctx, registry.MinerFilter{Token: testIDs[4], Page: registry.Page{WithTotal: true}})
			if err != nil || len(p.Items) != 2 || *p.Total != 2 {
				t.Fatalf("got %+v, %v", p, err)
			}
			yes := true
			p, err = s.ListMiners(ctx, registry.MinerFilter{Token: testIDs[4], Mining: &yes})
			if err != nil || len(p.Items) != 1 || p.Items[0].CanisterID != testIDs[0] {
				t.Fatalf("got %+v, %v", p, err)
			}
			p, err = s.ListMiners(ctx, registry.MinerFilter{Token: testIDs[3]})
			if err != nil || len(p.Items) != 0 {
				t.Fatalf("got %+v, %v", p, err)
			}
		})
		t.Run("Stats", func(t *testing.T) {
			if st, err := s.LatestMinerStats(ctx, testIDs[0]); err != nil || st != nil {
				t.Fatalf("latest before any = %+v, %v", st, err)
			}
			base := clk.Now()
			for i := range 5 {
				err := storetest.AddMinerStats(ctx, s, registry.MinerStats{CanisterID: testIDs[0], ObservedAt: base.Add(time.Duration(i) * time.Minute),
					BlocksMined: uint64(i), HashRate: float64(i) * 1.5})
				if err != nil {
					t.Fatal(err)
				}
			}
			st, err := s.LatestMinerStats(ctx, testIDs[0])
			if err != nil || st == nil || st.BlocksMined != 4 {
				t.Fatalf("latest = %+v, %v", st, err)
			}
			r := registry.StatsRange{From: base.Add(time.Minute), To: base.Add(4 * time.Minute), Page: registry.Page{Limit: 2}}
			var got []uint64
			for {
				p, err := s.MinerStatsRange(ctx, testIDs[0], r)
				if err != nil {
					t.Fatal(err)
				}
				for _, it := range p.Items {
					got = append(got, it.BlocksMined)
				}
				if p.Next == nil {
					break
				}
				r.Page.After, r.Page.AfterTie = p.Next.Key, p.Next.Tie
			}
			if len(got) != 4 || got[0] != 1 || got[3] != 4 {
				t.Fatalf("series = %v", got)
			}
		})
	})
}

func TestStore_CanisterHistory(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s, clk := openRegistryStoreOn(t, b)
		ctx := t.Context()
		mustCreate(t, s, registry.Canister{ID: testIDs[0], Kind: registry.KindOther})
		for i := range 3 {
			clk.Advance(time.Minute)
			hash := strings.Repeat(string(rune('a'+i)), 64)
			if _, err := storetest.SaveState(ctx, s, testIDs[0], hash, []string{string(testIDs[i+1])}, clk.Now()); err != nil {
				t.Fatal(err)
			}
		}
		p, err := s.CanisterHistory(ctx, testIDs[0], registry.Page{Limit: 4})
		if err != nil || len(p.Items) != 4 || p.Next == nil {
			t.Fatalf("page 1 = %+v, %v", p, err)
		}
		if p.Items[0].ID < p.Items[1].ID || p.Items[0].New != string(testIDs[3]) && p.Items[0].New != strings.Repeat("c", 64) {
			t.Fatalf("not newest first: %+v", p.Items)
		}
		p2, err := s.CanisterHistory(ctx, testIDs[0], registry.Page{Limit: 4, After: p.Next.Key})
		if err != nil || len(p2.Items) != 2 || p2.Next != nil || p2.Items[0].ID >= p.Items[3].ID {
			t.Fatalf("page 2 = %+v, %v", p2, err)
		}
		if _, err := s.DeleteCanister(ctx, testIDs[0]); err != nil {
			t.Fatal(err)
		}
		if p, err := s.CanisterHistory(ctx, testIDs[0], registry.Page{}); err != nil || len(p.Items) != 6 {
			t.Fatalf("history after delete = %d items, %v", len(p.Items), err)
		}
	})
}

func TestStore_ModuleHashes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s, _ := openRegistryStoreOn(t, b)
		ctx := t.Context()
		upper := strings.Repeat("AB", 32)
		rec, err := s.CreateModuleHash(ctx, registry.ModuleHash{Hash: upper, Name: "ledger", Version: "1", Kind: registry.KindToken})
		if err != nil || rec.Hash != strings.ToLower(upper) || rec.Key <= 0 || rec.Canisters != 0 {
			t.Fatalf("got %+v, %v", rec, err)
		}
		if _, err := s.CreateModuleHash(ctx, registry.ModuleHash{Hash: strings.ToLower(upper), Name: "again"}); registry.ErrorCode(err) != registry.ECONFLICT {
			t.Fatalf("duplicate: %v", err)
		}
		for _, bad := range []registry.ModuleHash{
			{Hash: "abc", Name: "x"},
			{Hash: strings.Repeat("g", 64), Name: "x"},
			{Hash: strings.Repeat("a", 64)},
			{Hash: strings.Repeat("a", 64), Name: "x", SourceURL: "javascript:alert(1)"},
		} {
			if _, err := s.CreateModuleHash(ctx, bad); registry.ErrorCode(err) != registry.EINVALID {
				t.Errorf("CreateModuleHash(%+v) = %v, want invalid", bad, err)
			}
		}
		if _, err := s.CreateModuleHash(ctx, registry.ModuleHash{Hash: strings.Repeat("c", 64), Name: "miner", Kind: registry.KindMiner}); err != nil {
			t.Fatal(err)
		}
		mustCreate(t, s, registry.Canister{ID: testIDs[0], Kind: registry.KindToken})
		if _, err := storetest.SaveState(ctx, s, testIDs[0], strings.ToLower(upper), nil, time.Now()); err != nil {
			t.Fatal(err)
		}
		p, err := s.ListModuleHashes(ctx, registry.ModuleHashFilter{Page: registry.Page{WithTotal: true}})
		if err != nil || len(p.Items) != 2 || *p.Total != 2 || p.Items[0].Canisters != 1 || p.Items[0].Name != "ledger" {
			t.Fatalf("got %+v, %v", p, err)
		}
		p, err = s.ListModuleHashes(ctx, registry.ModuleHashFilter{Kind: registry.KindMiner})
		if err != nil || len(p.Items) != 1 || p.Items[0].Name != "miner" {
			t.Fatalf("got %+v, %v", p, err)
		}
		if got, err := s.GetModuleHash(ctx, upper); err != nil || got.Canisters != 1 {
			t.Fatalf("GetModuleHash = %+v, %v", got, err)
		}
	})
}
