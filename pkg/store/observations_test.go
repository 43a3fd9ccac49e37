package store_test

import (
	"slices"
	"testing"
	"time"

	"github.com/aviate-labs/agent-go/principal"
	"gorm.io/gorm"

	"canistry/pkg/registry"
	"canistry/pkg/store"
	"canistry/pkg/store/storetest"
)

// testID returns the n-th test canister id.
func testID(n byte) registry.CanisterID {
	return registry.CanisterID(principal.Principal{Raw: []byte{0, 0, 0, 0, 0, 0, 0, n, 1, 1}}.Encode())
}

// mustRegister registers canister n of kind and returns its id.
func mustRegister(tb testing.TB, s *store.Store, n byte, kind registry.Kind) registry.CanisterID {
	tb.Helper()
	id := testID(n)
	if _, err := s.CreateCanister(tb.Context(), registry.Canister{ID: id, Kind: kind}); err != nil {
		tb.Fatal(err)
	}
	return id
}

// count returns the number of rows of table matching where.
func count(tb testing.TB, s *store.Store, table, where string, args ...any) int64 {
	tb.Helper()
	var n int64
	if err := s.ReadDB(tb.Context()).Table(table).Where(where, args...).Count(&n).Error; err != nil {
		tb.Fatal(err)
	}
	return n
}

func wantCode(tb testing.TB, err error, code string) {
	tb.Helper()
	if got := registry.ErrorCode(err); got != code {
		tb.Fatalf("error code = %q, want %q (err: %v)", got, code, err)
	}
}

func wantChanged(tb testing.TB, got []string, want ...string) {
	tb.Helper()
	if !slices.Equal(got, want) {
		tb.Fatalf("changed = %q, want %q", got, want)
	}
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestStore_SaveToken(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := mustOpenOn(t, b)
		ctx := t.Context()
		id := mustRegister(t, s, 1, registry.KindToken)
		tok := registry.TokenInfo{CanisterID: id, Interfaces: []string{registry.InterfaceICRC1}, Name: "Alpha",
			Symbol: "ALP", Decimals: 8, Fee: "10000", TotalSupply: "340282366920938463463374607431768211456",
			Logo: []byte("\x89PNG"), LogoMediaType: "image/png", UpdatedAt: t0}

		t.Run("First", func(t *testing.T) {
			changed, err := storetest.SaveToken(ctx, s, tok)
			if err != nil {
				t.Fatal(err)
			}
			wantChanged(t, changed, "interfaces", "name", "symbol", "decimals", "fee", "total_supply", "logo", "logo_media_type")
			if n := count(t, s, "token_logos", "canister_id = ?", id); n != 1 {
				t.Fatalf("token_logos rows = %d", n)
			}
		})
		t.Run("Unchanged", func(t *testing.T) {
			again := tok
			again.UpdatedAt = t0.Add(time.Minute)
			changed, err := storetest.SaveToken(ctx, s, again)
			if err != nil || changed != nil {
				t.Fatalf("SaveToken = %q, %v; want nothing changed", changed, err)
			}
			// Nothing was written: the stored updated_at is still the first observation's.
			if n := count(t, s, "tokens", "canister_id = ? AND updated_at = ?", id, t0.UnixMilli()); n != 1 {
				t.Fatal("an unchanged token was rewritten")
			}
		})
		t.Run("Changed", func(t *testing.T) {
			next := tok
			next.TotalSupply = "340282366920938463463374607431768211457"
			next.Logo = []byte("\x89PNG2")
			changed, err := storetest.SaveToken(ctx, s, next)
			if err != nil {
				t.Fatal(err)
			}
			wantChanged(t, changed, "total_supply", "logo")
			if n := count(t, s, "tokens", "total_supply = ?", next.TotalSupply); n != 1 {
				t.Fatal("total supply not stored exactly")
			}
		})
		t.Run("LogoRemoved", func(t *testing.T) {
			next := tok
			next.TotalSupply = "340282366920938463463374607431768211457"
			next.Logo, next.LogoMediaType = nil, ""
			changed, err := storetest.SaveToken(ctx, s, next)
			if err != nil {
				t.Fatal(err)
			}
			wantChanged(t, changed, "logo", "logo_media_type")
			if n := count(t, s, "token_logos", "canister_id = ?", id); n != 0 {
				t.Fatalf("token_logos rows = %d after the logo went away", n)
			}
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			_, err := storetest.SaveToken(ctx, s, registry.TokenInfo{CanisterID: testID(99), Name: "x"})
			wantCode(t, err, registry.ENOTFOUND)
		})
	})
}

func TestStore_SaveMiner(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := mustOpenOn(t, b)
		ctx := t.Context()
		id := mustRegister(t, s, 1, registry.KindMiner)
		rate := 1.5e9
		m := registry.MinerInfo{CanisterID: id, CurrentToken: string(testID(2)), IsMining: true, SpeedPercentage: 80,
			ChunkSize: 1000, SupportsStats: true, SupportsCycleUsage: true, CycleBalance: "5000000000000",
			CycleUsagePerHour: &rate, UpdatedAt: t0}
		changed, err := storetest.SaveMiner(ctx, s, m)
		if err != nil {
			t.Fatal(err)
		}
		wantChanged(t, changed, "current_token", "is_mining", "speed_percentage", "chunk_size",
			"supports_stats", "supports_cycle_usage", "cycle_balance", "cycle_usage_per_hour")

		again := m
		again.UpdatedAt = t0.Add(time.Minute)
		again.CycleUsagePerHour = &[]float64{1.5e9}[0] // same value, different pointer
		if changed, err := storetest.SaveMiner(ctx, s, again); err != nil || changed != nil {
			t.Fatalf("unchanged SaveMiner = %q, %v", changed, err)
		}
		again.IsMining, again.CycleBalance = false, "4999000000000"
		changed, err = storetest.SaveMiner(ctx, s, again)
		if err != nil {
			t.Fatal(err)
		}
		wantChanged(t, changed, "is_mining", "cycle_balance")

		_, err = storetest.SaveMiner(ctx, s, registry.MinerInfo{CanisterID: testID(99)})
		wantCode(t, err, registry.ENOTFOUND)
	})
}

func TestStore_MinerStats(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := mustOpenOn(t, b)
		ctx := t.Context()
		id := mustRegister(t, s, 1, registry.KindMiner)
		for i := range 3 {
			st := registry.MinerStats{CanisterID: id, ObservedAt: t0.Add(time.Duration(i) * time.Hour), BlocksMined: uint64(i)}
			if err := storetest.AddMinerStats(ctx, s, st); err != nil {
				t.Fatal(err)
			}
		}
		t.Run("ErrInvalid", func(t *testing.T) {
			err := storetest.AddMinerStats(ctx, s, registry.MinerStats{CanisterID: id, TotalHashes: 1 << 63})
			wantCode(t, err, registry.EINVALID)
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			wantCode(t, storetest.AddMinerStats(ctx, s, registry.MinerStats{CanisterID: testID(99)}), registry.ENOTFOUND)
		})
		t.Run("Prune", func(t *testing.T) {
			n, err := s.PruneMinerStats(ctx, t0.Add(90*time.Minute))
			if err != nil || n != 2 {
				t.Fatalf("PruneMinerStats = %d, %v; want 2", n, err)
			}
			if left := count(t, s, "miner_stats", "canister_id = ?", id); left != 1 {
				t.Fatalf("%d rows left, want 1", left)
			}
		})
		t.Run("PruneInBatches", func(t *testing.T) {
			const rows = 12_000
			err := s.Write(ctx, func(tx *gorm.DB) error {
				return tx.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < ?)
					INSERT INTO miner_stats (canister_id, observed_at, blocks_mined, total_hashes, hash_rate, total_rewards)
					SELECT ?, ?, i, 0, 0, 0 FROM n`, rows, string(id), t0.Add(-time.Hour).UnixMilli()).Error
			})
			if err != nil {
				t.Fatal(err)
			}
			n, err := s.PruneMinerStats(ctx, t0)
			if err != nil || n != rows {
				t.Fatalf("PruneMinerStats = %d, %v; want %d", n, err, rows)
			}
		})
	})
}

func TestStore_SaveBalances(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := mustOpenOn(t, b)
		ctx := t.Context()
		w := mustRegister(t, s, 1, registry.KindWallet)
		l1, l2 := testID(10), testID(11)
		bal := func(l registry.CanisterID, amount string) registry.Balance {
			return registry.Balance{Wallet: w, Ledger: l, Amount: amount, UpdatedAt: t0}
		}
		changed, err := storetest.SaveBalances(ctx, s, w, []registry.Balance{bal(l1, "100"), bal(l2, "0")})
		if err != nil {
			t.Fatal(err)
		}
		wantChanged(t, changed, "balance:"+string(l1), "balance:"+string(l2))

		// l2 did not answer this time: its row stays; l1 unchanged.
		if changed, err := storetest.SaveBalances(ctx, s, w, []registry.Balance{bal(l1, "100")}); err != nil || changed != nil {
			t.Fatalf("unchanged SaveBalances = %q, %v", changed, err)
		}
		changed, err = storetest.SaveBalances(ctx, s, w, []registry.Balance{bal(l1, "100"), bal(l2, "18446744073709551616")})
		if err != nil {
			t.Fatal(err)
		}
		wantChanged(t, changed, "balance:"+string(l2))
		got, err := s.WalletBalances(ctx, w)
		if err != nil || len(got) != 2 || got[0].Ledger != l1 || got[0].Amount != "100" ||
			got[1].Ledger != l2 || got[1].Amount != "18446744073709551616" || !got[1].UpdatedAt.Equal(t0) {
			t.Fatalf("WalletBalances = %+v, %v", got, err)
		}
		_, err = storetest.SaveBalances(ctx, s, testID(99), []registry.Balance{bal(l1, "1")})
		wantCode(t, err, registry.ENOTFOUND)
	})
}

func TestStore_SaveCanisterState(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := mustOpenOn(t, b)
		ctx := t.Context()
		id := mustRegister(t, s, 1, registry.KindOther)
		h1, h2 := string(make64('a')), string(make64('b'))
		c1, c2, c3 := string(testID(20)), string(testID(21)), string(testID(22))
		tests := []struct {
			name        string
			hash        string
			controllers []string
			want        []registry.Change
		}{
			{"First", h1, []string{c2, c1}, []registry.Change{
				{Field: registry.ChangeModuleHash, Old: "", New: h1},
				{Field: registry.ChangeControllers, Old: "", New: c1 + "," + c2},
			}},
			{"ReorderedIsUnchanged", h1, []string{c1, c2}, nil},
			{"Upgrade", h2, []string{c1, c2}, []registry.Change{{Field: registry.ChangeModuleHash, Old: h1, New: h2}}},
			{"Controllers", h2, []string{c3}, []registry.Change{{Field: registry.ChangeControllers, Old: c1 + "," + c2, New: c3}}},
			{"Uninstalled", "", []string{c3}, []registry.Change{{Field: registry.ChangeModuleHash, Old: h2, New: ""}}},
		}
		var rows int64
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				at := t0.Add(time.Duration(i) * time.Minute)
				got, err := storetest.SaveState(ctx, s, id, tt.hash, tt.controllers, at)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(tt.want) {
					t.Fatalf("changes = %+v, want %+v", got, tt.want)
				}
				for j, c := range got {
					w := tt.want[j]
					if c.Field != w.Field || c.Old != w.Old || c.New != w.New || c.CanisterID != id || !c.ObservedAt.Equal(at) || c.ID == 0 {
						t.Errorf("change %d = %+v, want %+v", j, c, w)
					}
				}
				rows += int64(len(tt.want))
				if n := count(t, s, "module_hash_changes", "canister_id = ?", id); n != rows {
					t.Errorf("module_hash_changes rows = %d, want %d", n, rows)
				}
				rec, err := s.GetCanister(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if rec.ModuleHash != tt.hash || !slices.Equal(rec.Controllers, slices.Sorted(slices.Values(tt.controllers))) {
					t.Errorf("stored %q %q, want %q %q", rec.ModuleHash, rec.Controllers, tt.hash, tt.controllers)
				}
			})
		}
		t.Run("ErrNotFound", func(t *testing.T) {
			_, err := storetest.SaveState(ctx, s, testID(99), h1, nil, t0)
			wantCode(t, err, registry.ENOTFOUND)
		})
	})
}

func make64(c byte) []byte {
	b := make([]byte, 64)
	for i := range b {
		b[i] = c
	}
	return b
}

func TestStore_RefreshState(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		s := mustOpenOn(t, be)
		ctx := t.Context()
		a := mustRegister(t, s, 1, registry.KindToken)
		b := mustRegister(t, s, 2, registry.KindMiner)
		c := mustRegister(t, s, 3, registry.KindWallet)

		due, err := s.DueCanisters(ctx, t0, 0)
		if err != nil || len(due) != 3 {
			t.Fatalf("new canisters: DueCanisters = %d, %v; want all 3 due", len(due), err)
		}
		attempt, success := t0, t0.Add(-time.Hour)
		states := map[registry.CanisterID]registry.RefreshState{
			a: {LastAttemptAt: &attempt, LastSuccessAt: &attempt, NextAttemptAt: t0.Add(time.Minute)},
			b: {LastAttemptAt: &attempt, LastSuccessAt: &success, LastError: "unavailable: IC unreachable",
				ConsecutiveFailures: 3, NextAttemptAt: t0.Add(10 * time.Minute)},
			c: {LastAttemptAt: &attempt, NextAttemptAt: t0.Add(30 * time.Second)},
		}
		for id, st := range states {
			if err := s.RecordRefresh(ctx, id, st); err != nil {
				t.Fatal(err)
			}
		}
		rec, err := s.GetCanister(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		r := rec.Refresh
		if r.ConsecutiveFailures != 3 || r.LastError != states[b].LastError || !r.LastSuccessAt.Equal(success) ||
			!r.LastAttemptAt.Equal(attempt) || !r.NextAttemptAt.Equal(t0.Add(10*time.Minute)) {
			t.Fatalf("stored refresh state %+v", r)
		}

		tests := []struct {
			name  string
			now   time.Time
			limit int
			want  []registry.CanisterID
		}{
			{"NoneDue", t0, 0, nil},
			{"Ordered", t0.Add(time.Hour), 0, []registry.CanisterID{c, a, b}},
			{"Limit", t0.Add(time.Hour), 2, []registry.CanisterID{c, a}},
			{"Boundary", t0.Add(time.Minute), 0, []registry.CanisterID{c, a}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				due, err := s.DueCanisters(ctx, tt.now, tt.limit)
				if err != nil {
					t.Fatal(err)
				}
				var got []registry.CanisterID
				for _, d := range due {
					got = append(got, d.ID)
				}
				if !slices.Equal(got, tt.want) {
					t.Fatalf("due = %q, want %q", got, tt.want)
				}
			})
		}
		t.Run("ErrNotFound", func(t *testing.T) {
			wantCode(t, s.RecordRefresh(ctx, testID(99), registry.RefreshState{}), registry.ENOTFOUND)
		})
	})
}

func TestStore_TrackedLedgers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := mustOpenOn(t, b)
		ctx := t.Context()
		icrc := mustRegister(t, s, 1, registry.KindToken)
		pow := mustRegister(t, s, 2, registry.KindToken)
		powWithICRC := mustRegister(t, s, 3, registry.KindToken)
		ledger := testID(40)
		tokens := []registry.TokenInfo{
			{CanisterID: icrc, Interfaces: []string{registry.InterfaceICRC1}},
			{CanisterID: pow, Interfaces: []string{registry.InterfacePoW, registry.InterfaceLedger}, LedgerID: string(ledger)},
			{CanisterID: powWithICRC, Interfaces: []string{registry.InterfaceICRC1, registry.InterfacePoW}, LedgerID: string(ledger)},
		}
		for _, tok := range tokens {
			if _, err := storetest.SaveToken(ctx, s, tok); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.TrackedLedgers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := []registry.CanisterID{icrc, powWithICRC, ledger}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("TrackedLedgers = %q, want %q", got, want)
		}
	})
}
