package store_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"gorm.io/gorm"

	"canistry/pkg/store"
	"canistry/pkg/store/storetest"
)

// before0016 turns a migrated database's solutions back into what 0011 built (a rowid table
// with three indexes and a rowid table of first heights on SQLite; a primary key on
// notification_id, three indexes and a table of first heights on PostgreSQL), rows kept, and
// forgets 0016 and 0019 (which made the first heights a partial index of solutions).
var before0016 = map[string]string{
	"sqlite": `CREATE TABLE s0011 (notification_id INTEGER PRIMARY KEY, token_id TEXT NOT NULL, block_height TEXT NOT NULL,
			miner_id TEXT NOT NULL, difficulty TEXT NOT NULL DEFAULT '', reward TEXT NOT NULL DEFAULT '',
			hash TEXT NOT NULL DEFAULT '', nonce TEXT NOT NULL DEFAULT '', received_at INTEGER NOT NULL, repeat_of INTEGER);
		INSERT INTO s0011 SELECT notification_id, token_id, block_height, miner_id, difficulty, reward, hash, nonce, received_at,
			repeat_of FROM solutions;
		DROP TABLE solutions;
		ALTER TABLE s0011 RENAME TO solutions;
		CREATE INDEX solutions_token ON solutions (token_id, notification_id);
		CREATE INDEX solutions_token_miner ON solutions (token_id, miner_id, notification_id);
		CREATE INDEX solutions_token_time ON solutions (token_id, received_at);
		CREATE TABLE solution_heights (token_id TEXT NOT NULL, block_height TEXT NOT NULL, notification_id INTEGER NOT NULL,
			PRIMARY KEY (token_id, block_height));
		INSERT INTO solution_heights SELECT token_id, block_height, notification_id FROM solutions WHERE repeat_of IS NULL;
		DELETE FROM schema_migrations WHERE version IN (16, 19)`,
	"postgres": `ALTER TABLE solutions DROP CONSTRAINT solutions_pkey;
		ALTER TABLE solutions ADD PRIMARY KEY (notification_id);
		CREATE INDEX solutions_token_miner ON solutions (token_id, miner_id, notification_id);
		DROP INDEX solutions_first_height;
		CREATE TABLE solution_heights (token_id TEXT COLLATE "C" NOT NULL, block_height TEXT COLLATE "C" NOT NULL,
			notification_id BIGINT NOT NULL, PRIMARY KEY (token_id, block_height));
		INSERT INTO solution_heights SELECT token_id, block_height, notification_id FROM solutions WHERE repeat_of IS NULL;
		DELETE FROM schema_migrations WHERE version IN (16, 19)`,
}

// unmarkRepeat makes one repeat look like a first (repeat_of NULL) while solution_heights
// names another solution for its height: 0019 must mark it again to build its unique index.
const unmarkRepeat = `UPDATE solutions SET repeat_of = NULL
	WHERE notification_id = (SELECT min(notification_id) FROM solutions WHERE repeat_of IS NOT NULL)`

// TestMining_ReshapeMigration: migrations 0016 and 0019 keep every solution and height of a
// database at 0015 (repeats included, and a repeat that lost its mark gets it back), end with
// the schema a new database gets, and the follower goes on from its position there (a repeat
// of a height stored before the migration is one).
func TestMining_ReshapeMigration(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		db := b.DB(t)
		s := openStore(t, db)
		ctx := t.Context()
		rng := rand.New(rand.NewPCG(16, 27))
		t0 := time.Date(2026, 3, 1, 22, 30, 0, 0, time.UTC)
		claim := func(i, height int) {
			t.Helper()
			if _, err := storetest.ClaimOutcall(ctx, s, storetest.Outcall{Key: fmt.Sprint(i), Miner: mMiners[rng.IntN(3)],
				At: t0.Add(time.Duration(i) * time.Minute), Data: solutionData([]string{mTokenA, mTokenB}[rng.IntN(2)], height,
					fmt.Sprint(1+rng.IntN(1e6)), "5")}); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 300 {
			claim(i, rng.IntN(200))
		}
		if err := storetest.SyncMining(ctx, s); err != nil {
			t.Fatal(err)
		}
		kept, fresh := solutionsAndHeights(t, s), schemaOf(t, s, b.name)
		if err := s.Write(ctx, func(tx *gorm.DB) error {
			if err := tx.Exec(before0016[b.name]).Error; err != nil {
				return err
			}
			return tx.Exec(unmarkRepeat).Error
		}); err != nil {
			t.Fatal(err)
		}
		if old := schemaOf(t, s, b.name); reflect.DeepEqual(old, fresh) {
			t.Fatal("the schema before 0016 is the one after it: the test reverts nothing")
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = openStore(t, db)
		if got := solutionsAndHeights(t, s); !reflect.DeepEqual(got, kept) {
			t.Fatalf("after 0016 and 0019: %d rows, before: %d; first difference in %v", len(got), len(kept), firstDiff(got, kept))
		}
		if got := schemaOf(t, s, b.name); !reflect.DeepEqual(got, fresh) {
			t.Fatalf("schema after 0016 and 0019 on a 0015 database:\n%q\nnew database:\n%q", got, fresh)
		}
		for i := 300; i < 400; i++ {
			claim(i, rng.IntN(300))
		}
		if err := storetest.SyncMining(ctx, s); err != nil {
			t.Fatal(err)
		}
		checkRepeats(t, s)
	})
}

// checkRepeats: the first solution of each token's height (by notification id) is no repeat,
// every later one repeats it.
func checkRepeats(t *testing.T, s *store.Store) {
	t.Helper()
	var rows []struct {
		NotificationID       int64
		TokenID, BlockHeight string
		RepeatOf             *int64
	}
	if err := s.Write(t.Context(), func(tx *gorm.DB) error {
		return tx.Raw("SELECT notification_id, token_id, block_height, repeat_of FROM solutions ORDER BY notification_id").Scan(&rows).Error
	}); err != nil {
		t.Fatal(err)
	}
	first := map[[2]string]int64{}
	repeats := 0
	for _, r := range rows {
		k := [2]string{r.TokenID, r.BlockHeight}
		f, seen := first[k]
		if !seen {
			first[k] = r.NotificationID
		}
		switch {
		case !seen && r.RepeatOf != nil:
			t.Fatalf("solution %d, the first at %v, is a repeat of %d", r.NotificationID, k, *r.RepeatOf)
		case seen && (r.RepeatOf == nil || *r.RepeatOf != f):
			t.Fatalf("solution %d at %v: repeat of %v, want %d", r.NotificationID, k, r.RepeatOf, f)
		case seen:
			repeats++
		}
	}
	if len(rows) != 400 || repeats < 50 {
		t.Fatalf("%d solutions, %d repeats: the test data does not exercise repeats across the migration", len(rows), repeats)
	}
}

// solutionsAndHeights reads the solutions whole, then the first of each height, in key order.
func solutionsAndHeights(t *testing.T, s *store.Store) []string {
	t.Helper()
	var out []string
	err := s.Write(t.Context(), func(tx *gorm.DB) error {
		var sols []struct {
			NotificationID                                                 int64
			TokenID, BlockHeight, MinerID, Difficulty, Reward, Hash, Nonce string
			ReceivedAt                                                     int64
			RepeatOf                                                       *int64
		}
		if err := tx.Raw("SELECT * FROM solutions ORDER BY notification_id").Scan(&sols).Error; err != nil {
			return err
		}
		for _, r := range sols {
			rep := "-"
			if r.RepeatOf != nil {
				rep = fmt.Sprint(*r.RepeatOf)
			}
			out = append(out, fmt.Sprint("solution ", r.NotificationID, r.TokenID, r.BlockHeight, r.MinerID, r.Difficulty,
				r.Reward, r.Hash, r.Nonce, r.ReceivedAt, rep))
		}
		var hs []struct {
			TokenID, BlockHeight string
			NotificationID       int64
		}
		if err := tx.Raw(`SELECT token_id, block_height, notification_id FROM solutions WHERE repeat_of IS NULL
			ORDER BY token_id, block_height`).Scan(&hs).Error; err != nil {
			return err
		}
		for _, h := range hs {
			out = append(out, fmt.Sprint("height ", h.TokenID, h.BlockHeight, h.NotificationID))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 400 {
		t.Fatalf("only %d rows: the test data does not exercise the migration", len(out))
	}
	return out
}

func schemaOf(t *testing.T, s *store.Store, backend string) []string {
	t.Helper()
	var facts []string
	if err := s.Write(t.Context(), func(tx *gorm.DB) (err error) {
		facts, err = describeSchema(tx, backend)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return facts
}

func firstDiff(a, b []string) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return fmt.Sprintf("row %d: %q vs %q", i, a[i], b[i])
		}
	}
	return "the longer one's tail"
}
