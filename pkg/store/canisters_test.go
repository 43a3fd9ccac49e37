package store_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aviate-labs/agent-go/principal"

	"canistry/pkg/internal/testclock"
	"canistry/pkg/registry"
	"canistry/pkg/store"
	"canistry/pkg/store/storetest"
)

// Principals used by the registry tests (valid text with checksums).
var testIDs = []registry.CanisterID{
	"ryjl3-tyaaa-aaaaa-aaaba-cai", "rrkah-fqaaa-aaaaa-aaaaq-cai", "mxzaz-hqaaa-aaaar-qaada-cai",
	"zfcdd-tqaaa-aaaaq-aaaga-cai", "qaa6y-5yaaa-aaaaa-aaafa-cai", "aaaaa-aa",
}

// openRegistryStore opens a store on a fresh SQLite file with a settable clock.
func openRegistryStore(tb testing.TB) (*store.Store, *testclock.Clock) {
	tb.Helper()
	return openRegistryStoreOn(tb, backend{name: "sqlite"})
}

// openRegistryStoreOn opens a store on a fresh database of backend b with a settable clock.
func openRegistryStoreOn(tb testing.TB, b backend) (*store.Store, *testclock.Clock) {
	tb.Helper()
	clk := testclock.New(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
	s, err := store.Open(tb.Context(), b.DB(tb), store.WithClock(clk.Now))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s, clk
}

func mustCreate(tb testing.TB, s *store.Store, c registry.Canister) registry.CanisterRecord {
	tb.Helper()
	rec, err := s.CreateCanister(tb.Context(), c)
	if err != nil {
		tb.Fatalf("CreateCanister(%s): %v", c.ID, err)
	}
	return rec
}

func TestStore_CreateCanister(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		t.Run("OK", func(t *testing.T) {
			s, clk := openRegistryStoreOn(t, b)
			rec := mustCreate(t, s, registry.Canister{ID: testIDs[0], Kind: registry.KindToken, Name: "ICP", Tags: []string{"ledger"}})
			if rec.ID != testIDs[0] || rec.Kind != registry.KindToken || rec.Name != "ICP" || len(rec.Tags) != 1 {
				t.Fatalf("got %+v", rec)
			}
			if !rec.CreatedAt.Equal(clk.Now()) || rec.Key <= 0 || rec.Build != nil || rec.Refresh.LastSuccessAt != nil {
				t.Fatalf("got %+v", rec)
			}
			got, err := s.GetCanister(t.Context(), testIDs[0])
			if err != nil || got.Name != "ICP" || got.Key != rec.Key {
				t.Fatalf("GetCanister = %+v, %v", got, err)
			}
		})
		t.Run("ErrConflict", func(t *testing.T) {
			s, _ := openRegistryStoreOn(t, b)
			mustCreate(t, s, registry.Canister{ID: testIDs[0], Kind: registry.KindToken})
			_, err := s.CreateCanister(t.Context(), registry.Canister{ID: testIDs[0], Kind: registry.KindMiner})
			if registry.ErrorCode(err) != registry.ECONFLICT {
				t.Fatalf("err = %v, want conflict", err)
			}
		})
		t.Run("ErrInvalid", func(t *testing.T) {
			s, _ := openRegistryStoreOn(t, b)
			for _, c := range []registry.Canister{
				{ID: "not-a-principal", Kind: registry.KindToken},
				{ID: testIDs[0], Kind: "coin"},
				{ID: testIDs[0], Kind: registry.KindToken, Tags: []string{"Upper"}},
			} {
				if _, err := s.CreateCanister(t.Context(), c); registry.ErrorCode(err) != registry.EINVALID {
					t.Errorf("CreateCanister(%+v) err = %v, want invalid", c, err)
				}
			}
		})
	})
}

func TestStore_GetCanister_ErrNotFound(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s, _ := openRegistryStoreOn(t, b)
		if _, err := s.GetCanister(t.Context(), testIDs[1]); registry.ErrorCode(err) != registry.ENOTFOUND {
			t.Fatalf("err = %v, want not_found", err)
		}
	})
}

func TestStore_UpdateCanister(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		t.Run("OK", func(t *testing.T) {
			s, clk := openRegistryStoreOn(t, b)
			mustCreate(t, s, registry.Canister{ID: testIDs[0], Kind: registry.KindToken, Name: "a", Description: "d"})
			clk.Advance(time.Minute)
			name, tags := "b", []string{"x", "y"}
			rec, err := s.UpdateCanister(t.Context(), testIDs[0], registry.CanisterUpdate{Name: &name, Tags: &tags})
			if err != nil {
				t.Fatal(err)
			}
			if rec.Name != "b" || rec.Description != "d" || len(rec.Tags) != 2 || !rec.UpdatedAt.Equal(clk.Now()) {
				t.Fatalf("got %+v", rec)
			}
		})
		t.Run("KindChangeDropsOldObservations", func(t *testing.T) {
			s, _ := openRegistryStoreOn(t, b)
			mustCreate(t, s, registry.Canister{ID: testIDs[0], Kind: registry.KindToken})
			if _, err := storetest.SaveToken(t.Context(), s, registry.TokenInfo{CanisterID: testIDs[0], Name: "T", UpdatedAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
			kind := registry.KindMiner
			if _, err := s.UpdateCanister(t.Context(), testIDs[0], registry.CanisterUpdate{Kind: &kind}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.GetToken(t.Context(), testIDs[0]); registry.ErrorCode(err) != registry.ENOTFOUND {
				t.Fatalf("token data survived a kind change: %v", err)
			}
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			s, _ := openRegistryStoreOn(t, b)
			name := "x"
			_, err := s.UpdateCanister(t.Context(), testIDs[0], registry.CanisterUpdate{Name: &name})
			if registry.ErrorCode(err) != registry.ENOTFOUND {
				t.Fatalf("err = %v", err)
			}
		})
		t.Run("ErrInvalid", func(t *testing.T) {
			s, _ := openRegistryStoreOn(t, b)
			mustCreate(t, s, registry.Canister{ID: testIDs[0], Kind: registry.KindToken})
			kind := registry.Kind("coin")
			_, err := s.UpdateCanister(t.Context(), testIDs[0], registry.CanisterUpdate{Kind: &kind})
			if registry.ErrorCode(err) != registry.EINVALID {
				t.Fatalf("err = %v", err)
			}
		})
	})
}

func TestStore_DeleteCanister(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s, _ := openRegistryStoreOn(t, b)
		mustCreate(t, s, registry.Canister{ID: testIDs[0], Kind: registry.KindToken, Name: "gone"})
		if _, err := storetest.SaveToken(t.Context(), s, registry.TokenInfo{CanisterID: testIDs[0], Logo: []byte("\x89PNG"), LogoMediaType: "image/png"}); err != nil {
			t.Fatal(err)
		}
		rec, err := s.DeleteCanister(t.Context(), testIDs[0])
		if err != nil || rec.Name != "gone" {
			t.Fatalf("DeleteCanister = %+v, %v", rec, err)
		}
		if _, err := s.GetCanister(t.Context(), testIDs[0]); registry.ErrorCode(err) != registry.ENOTFOUND {
			t.Fatalf("GetCanister after delete: %v", err)
		}
		if _, err := s.TokenLogo(t.Context(), testIDs[0]); registry.ErrorCode(err) != registry.ENOTFOUND {
			t.Fatalf("logo survived the delete: %v", err)
		}
		if _, err := s.DeleteCanister(t.Context(), testIDs[0]); registry.ErrorCode(err) != registry.ENOTFOUND {
			t.Fatalf("second delete: %v", err)
		}
	})
}

func TestStore_ListCanisters(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s, clk := openRegistryStoreOn(t, b)
		ctx := t.Context()
		kinds := []registry.Kind{registry.KindToken, registry.KindMiner, registry.KindToken, registry.KindWallet, registry.KindOther, registry.KindMiner}
		for i, id := range testIDs {
			mustCreate(t, s, registry.Canister{ID: id, Kind: kinds[i], Name: "Canister " + string(rune('A'+i)), Tags: []string{"t" + string(rune('0'+i%2))}})
		}
		hash := "ab" + strings.Repeat("0", 62)
		if _, err := s.CreateModuleHash(ctx, registry.ModuleHash{Hash: hash, Name: "ledger", Version: "1.0", SourceURL: "https://example.org/src"}); err != nil {
			t.Fatal(err)
		}
		if _, err := storetest.SaveState(ctx, s, testIDs[2], hash, []string{"aaaaa-aa"}, clk.Now()); err != nil {
			t.Fatal(err)
		}
		success := clk.Now()
		if err := s.RecordRefresh(ctx, testIDs[1], registry.RefreshState{LastSuccessAt: &success}); err != nil {
			t.Fatal(err)
		}
		yes, no := true, false
		tests := []struct {
			name string
			f    registry.CanisterFilter
			want []int
		}{
			{"All", registry.CanisterFilter{}, []int{0, 1, 2, 3, 4, 5}},
			{"Kind", registry.CanisterFilter{Kind: registry.KindMiner}, []int{1, 5}},
			{"Tag", registry.CanisterFilter{Tag: "t1"}, []int{1, 3, 5}},
			{"Verified", registry.CanisterFilter{Verified: &yes}, []int{2}},
			{"Unverified", registry.CanisterFilter{Verified: &no, Kind: registry.KindToken}, []int{0}},
			{"Stale", registry.CanisterFilter{Stale: registry.Staleness{Want: &yes, Before: success.Add(-time.Minute)}}, []int{0, 2, 3, 4, 5}},
			{"Fresh", registry.CanisterFilter{Stale: registry.Staleness{Want: &no, Before: success.Add(-time.Minute)}}, []int{1}},
			{"QueryName", registry.CanisterFilter{Query: "canister c"}, []int{2}},
			{"QueryID", registry.CanisterFilter{Query: "MXZAZ-HQ"}, []int{2}},
			{"QueryWildcard", registry.CanisterFilter{Query: "%"}, nil},
			{"Desc", registry.CanisterFilter{Kind: registry.KindToken, Page: registry.Page{Desc: true}}, []int{2, 0}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tt.f.Page.WithTotal = true
				page, err := s.ListCanisters(ctx, tt.f)
				if err != nil {
					t.Fatal(err)
				}
				var got []registry.CanisterID
				for _, it := range page.Items {
					got = append(got, it.ID)
				}
				var want []registry.CanisterID
				for _, i := range tt.want {
					want = append(want, testIDs[i])
				}
				if len(got) != len(want) || *page.Total != int64(len(want)) || page.Next != nil {
					t.Fatalf("got %v (total %d, next %v), want %v", got, *page.Total, page.Next, want)
				}
				for i := range got {
					if got[i] != want[i] {
						t.Fatalf("got %v, want %v", got, want)
					}
				}
			})
		}
		t.Run("BuildShown", func(t *testing.T) {
			rec, err := s.GetCanister(ctx, testIDs[2])
			if err != nil || rec.Build == nil || rec.Build.Name != "ledger" || rec.ModuleHash != hash {
				t.Fatalf("got %+v, %v", rec, err)
			}
		})
	})
}

// TestStore_ListCanisters_PagesUnderConcurrentInserts pages through the list while another
// goroutine registers canisters: every canister that existed before paging started is seen
// exactly once, and no canister is seen twice.
func TestStore_ListCanisters_PagesUnderConcurrentInserts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s, _ := openRegistryStoreOn(t, b)
		ctx := t.Context()
		ids := generateIDs(t, 260)
		for _, id := range ids[:120] {
			mustCreate(t, s, registry.Canister{ID: id, Kind: registry.KindOther})
		}
		var wg sync.WaitGroup
		wg.Go(func() {
			for _, id := range ids[120:] {
				if _, err := s.CreateCanister(ctx, registry.Canister{ID: id, Kind: registry.KindOther}); err != nil {
					t.Error(err)
					return
				}
			}
		})
		seen := map[registry.CanisterID]int{}
		page := registry.Page{Limit: 7}
		for {
			p, err := s.ListCanisters(ctx, registry.CanisterFilter{Page: page})
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range p.Items {
				seen[it.ID]++
			}
			if p.Next == nil {
				break
			}
			page.After = p.Next.Key
		}
		wg.Wait()
		for _, id := range ids[:120] {
			if seen[id] != 1 {
				t.Fatalf("%s seen %d times", id, seen[id])
			}
		}
		for id, n := range seen {
			if n != 1 {
				t.Fatalf("%s seen %d times", id, n)
			}
		}
	})
}

func generateIDs(tb testing.TB, n int) []registry.CanisterID {
	tb.Helper()
	out := make([]registry.CanisterID, n)
	for i := range out {
		id, err := registry.ParseCanisterID(principal.Principal{Raw: []byte{0, 0, 0, 0, 1, byte(i >> 8), byte(i), 1, 1}}.Encode())
		if err != nil {
			tb.Fatal(err)
		}
		out[i] = id
	}
	return out
}
