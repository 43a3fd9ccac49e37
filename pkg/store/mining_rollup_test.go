package store_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"gorm.io/gorm"

	"canistry/pkg/registry"
	"canistry/pkg/store"
	"canistry/pkg/store/storetest"
)

// rollupRows reads mining_token_hours and mining_miner_days in key order, the hash rates
// rounded to 1e-9 (a sum of floats in another row order may differ in the last bits).
func rollupRows(t *testing.T, s *store.Store) []string {
	t.Helper()
	var out []string
	err := s.Write(t.Context(), func(tx *gorm.DB) error {
		rows, err := tx.Raw(`SELECT token_id, hour_at, solutions, first_at, last_at, difficulty_min, difficulty_max, hash_rate
			FROM mining_token_hours ORDER BY token_id, hour_at`).Rows()
		if err != nil {
			return err
		}
		for rows.Next() {
			var tok, dmin, dmax string
			var hour, n, first, last int64
			var rate *float64
			if err := rows.Scan(&tok, &hour, &n, &first, &last, &dmin, &dmax, &rate); err != nil {
				return err
			}
			r := "-"
			if rate != nil {
				r = fmt.Sprint(math.Round(*rate*1e9) / 1e9)
			}
			out = append(out, fmt.Sprint("hour ", tok, hour, n, first, last, dmin, dmax, r))
		}
		rows.Close()
		rows, err = tx.Raw(`SELECT token_id, day_at, miner_id, solutions, last_at FROM mining_miner_days
			ORDER BY token_id, day_at, miner_id`).Rows()
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var tok, miner string
			var day, n, last int64
			if err := rows.Scan(&tok, &day, &miner, &n, &last); err != nil {
				return err
			}
			out = append(out, fmt.Sprint("day ", tok, day, miner, n, last))
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestMining_RollupMigration: migration 0015 builds the token hours and miner days from what
// 0011's tables hold, and the result is what the follower keeps incrementally (solutions over
// three days in random batches, refreshes of miners mining and not mining, in and out of hours
// with solutions).
func TestMining_RollupMigration(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		db := b.DB(t)
		s := openStore(t, db)
		ctx := t.Context()
		rng := rand.New(rand.NewPCG(15, 27))
		for _, id := range mMiners {
			mustCreate(t, s, registry.Canister{ID: registry.CanisterID(id), Kind: registry.KindMiner})
		}
		t0 := time.Date(2026, 3, 1, 22, 30, 0, 0, time.UTC)
		for i := range 600 {
			at := t0.Add(time.Duration(i) * 7 * time.Minute)
			miner := mMiners[rng.IntN(3)]
			if _, err := storetest.ClaimOutcall(ctx, s, storetest.Outcall{Key: fmt.Sprint(i), Miner: miner, At: at,
				Data: solutionData([]string{mTokenA, mTokenB}[rng.IntN(2)], rng.IntN(500), fmt.Sprint(1+rng.IntN(1e6)), "1")}); err != nil {
				t.Fatal(err)
			}
			if i%25 == 0 {
				if _, err := storetest.SaveMiner(ctx, s, registry.MinerInfo{CanisterID: registry.CanisterID(miner),
					CurrentToken: []string{mTokenA, mTokenB}[rng.IntN(2)], IsMining: rng.IntN(4) > 0, UpdatedAt: at}); err != nil {
					t.Fatal(err)
				}
			}
			if i%3 == 0 {
				if err := storetest.AddMinerStats(ctx, s, registry.MinerStats{CanisterID: registry.CanisterID(miner), ObservedAt: at,
					HashRate: float64(rng.IntN(1e6)) / 7}); err != nil {
					t.Fatal(err)
				}
			}
			if rng.IntN(40) == 0 {
				if err := storetest.SyncMining(ctx, s); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := storetest.SyncMining(ctx, s); err != nil {
			t.Fatal(err)
		}
		kept := rollupRows(t, s)
		if len(kept) < 100 {
			t.Fatalf("only %d rollup rows: the test data does not exercise them", len(kept))
		}
		// Back to the schema before 0015, then open again: the migration rebuilds the rollups.
		if err := s.Write(ctx, func(tx *gorm.DB) error {
			return tx.Exec("DROP TABLE mining_token_hours; DROP TABLE mining_miner_days; DELETE FROM schema_migrations WHERE version = 15").Error
		}); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = openStore(t, db)
		if v, err := s.SchemaVersion(ctx); err != nil || v < 15 {
			t.Fatalf("schema version %d, %v", v, err)
		}
		if built := rollupRows(t, s); !reflect.DeepEqual(built, kept) {
			for i := range min(len(built), len(kept)) {
				if built[i] != kept[i] {
					t.Fatalf("row %d: migration built %q, the follower kept %q (%d vs %d rows)", i, built[i], kept[i], len(built), len(kept))
				}
			}
			t.Fatalf("migration built %d rows, the follower kept %d", len(built), len(kept))
		}
	})
}

// TestSyncMining_NothingPendingTakesNoLock: with nothing past its positions, SyncMining does
// not wait for the write lock another writer holds (the follower's poll and the syncs before
// deliveries stay out of the intake's way); once there is something to apply, it applies it.
func TestSyncMining_NothingPendingTakesNoLock(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := t.Context()
		st := openStore(t, b.DB(t))
		locked, release, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
		go func() {
			done <- st.Write(ctx, func(*gorm.DB) error { close(locked); <-release; return nil })
		}()
		<-locked
		synced, err := finished(func() error {
			r, err := st.SyncMining(ctx)
			if err == nil && r != (store.MiningSync{Position: r.Position}) {
				err = fmt.Errorf("applied %+v with nothing pending", r)
			}
			return err
		})
		switch {
		case !synced:
			t.Error("a sync with nothing pending waited for another writer's lock")
		case err != nil:
			t.Error(err)
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if _, err := storetest.ClaimOutcall(ctx, st, storetest.Outcall{Key: "a", Miner: mMiners[0], At: time.Now(),
			Data: map[string]any{"token_id": mTokenA, "block_height": 1}}); err != nil {
			t.Fatal(err)
		}
		if r, err := st.SyncMining(ctx); err != nil || r.Solutions != 1 {
			t.Fatalf("sync with an outcall to apply: %+v, %v", r, err)
		}
	})
}
