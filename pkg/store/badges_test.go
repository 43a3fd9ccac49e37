package store_test

import (
	"strings"
	"testing"
	"time"

	"canistry/pkg/registry"
	"canistry/pkg/store/storetest"
)

func TestStore_Badges(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := openStore(t, b.DB(t))
		ctx := t.Context()
		id := registry.CanisterID("ryjl3-tyaaa-aaaaa-aaaba-cai")
		other := registry.CanisterID("rrkah-fqaaa-aaaaa-aaaaq-cai")
		hash := strings.Repeat("ab", 32)
		t0 := time.UnixMilli(1_700_000_000_000).UTC()
		for _, c := range []registry.CanisterID{id, other} {
			if _, err := s.CreateCanister(ctx, registry.Canister{ID: c, Kind: registry.KindOther}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := storetest.SaveState(ctx, s, id, hash, []string{"aaaaa-aa"}, t0); err != nil {
			t.Fatal(err)
		}
		if _, err := storetest.SaveState(ctx, s, id, hash, registry.KnownBlackholes, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		in, stored, err := s.BadgeState(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if stored != nil || in.ModuleHash != hash || in.KnownBuild || !in.HashSince.Equal(t0) ||
			!in.ControllersChangedAt.Equal(t0.Add(time.Hour)) || strings.Join(in.Controllers, ",") != registry.KnownBlackholes[0] {
			t.Fatalf("badge state %+v, stored %v", in, stored)
		}
		now := t0.Add(31 * 24 * time.Hour)
		bd := registry.ComputeBadges(in, now, registry.DefaultBadgeRules)
		if err := s.SaveBadges(ctx, id, in.ModuleHash, bd); err != nil {
			t.Fatal(err)
		}
		_, stored, err = s.BadgeState(ctx, id)
		if err != nil || stored == nil || !stored.Equal(&bd) || !stored.ComputedAt.Equal(now) {
			t.Fatalf("stored %+v (%v), want %+v", stored, err, bd)
		}
		list := func(badge string) []registry.CanisterID {
			t.Helper()
			page, err := s.ListCanisters(ctx, registry.CanisterFilter{Badge: badge})
			if err != nil {
				t.Fatal(err)
			}
			var out []registry.CanisterID
			for _, c := range page.Items {
				out = append(out, c.ID)
			}
			return out
		}
		if got := list(registry.BadgeBlackholed); len(got) != 1 || got[0] != id {
			t.Errorf("blackholed %v", got)
		}
		if got := list(registry.BadgeVerified); len(got) != 0 {
			t.Errorf("verified before the hash is known: %v", got)
		}
		if got := list(""); len(got) != 2 {
			t.Errorf("no badge filter: %v", got)
		}

		t.Run("PutModuleHash", func(t *testing.T) {
			rec, created, err := s.PutModuleHash(ctx, registry.ModuleHash{Hash: hash, Name: "ledger"})
			if err != nil || !created || rec.Canisters != 1 {
				t.Fatalf("put: %+v %v %v", rec, created, err)
			}
			if got := list(registry.BadgeVerified); len(got) != 1 || got[0] != id {
				t.Errorf("verified after PUT: %v", got)
			}
			rec, created, err = s.PutModuleHash(ctx, registry.ModuleHash{Hash: strings.ToUpper(hash), Name: "ledger", Version: "2"})
			if err != nil || created || rec.Version != "2" || rec.Name != "ledger" {
				t.Fatalf("replace: %+v %v %v", rec, created, err)
			}
		})
		t.Run("DeleteModuleHash", func(t *testing.T) {
			if err := s.DeleteModuleHash(ctx, hash); err != nil {
				t.Fatal(err)
			}
			if got := list(registry.BadgeVerified); len(got) != 0 {
				t.Errorf("verified after DELETE: %v", got)
			}
			if err := s.DeleteModuleHash(ctx, hash); registry.ErrorCode(err) != registry.ENOTFOUND {
				t.Errorf("second delete: %v", err)
			}
			if _, _, err := s.PutModuleHash(ctx, registry.ModuleHash{Hash: "xyz", Name: "x"}); registry.ErrorCode(err) != registry.EINVALID {
				t.Errorf("bad hash: %v", err)
			}
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			if _, _, err := s.BadgeState(ctx, "aaaaa-aa"); registry.ErrorCode(err) != registry.ENOTFOUND {
				t.Errorf("unknown canister: %v", err)
			}
		})
	})
}
