package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"canistry/pkg/lifecycle/runtest"
	"canistry/pkg/registry"
	"canistry/pkg/store"
	"canistry/pkg/store/storetest"
)

// TestPostgres_FollowerApart: on PostgreSQL the mining follower writes apart from every other
// write (migration 0018). A claim in progress in another notifier (holding the advisory write
// lock and data_version's row 1, as every other write transaction does until it commits) and a
// write in progress in this process (holding its writer connection) do not hold a sync back;
// the sync bumps data_version's row 2 only, so DataVersion (the read caches' key) still moves.
// Its commits are asynchronous (they are derived data, lost whole with their position), and
// its connection is dialled at its first sync (the api and the poller never sync).
func TestPostgres_FollowerApart(t *testing.T) {
	url := backend{name: "postgres"}.DB(t)
	ctx := t.Context()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The test server commits asynchronously (pgtest); this database does not, as a
	// production server does not.
	if _, err := db.Exec(`DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET synchronous_commit = on', current_database()); END $$`); err != nil {
		t.Fatal(err)
	}
	st := openStore(t, url)
	if n := st.FollowerConns(); n != 0 {
		t.Fatalf("the follower's pool has %d connections before its first sync; want none", n)
	}
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	claim := func(from, n int) {
		t.Helper()
		for i := from; i < from+n; i++ {
			if _, err := storetest.ClaimOutcall(ctx, st, storetest.Outcall{Key: fmt.Sprint(i), Miner: mMiners[i%3],
				At: t0.Add(time.Duration(i) * time.Second), Data: solutionData(mTokenA, i, "9", "1")}); err != nil {
				t.Fatal(err)
			}
		}
	}
	rows := func() (v1, v2 int64) {
		t.Helper()
		if err := db.QueryRow("SELECT (SELECT v FROM data_version WHERE id = 1), (SELECT v FROM data_version WHERE id = 2)").Scan(&v1, &v2); err != nil {
			t.Fatal(err)
		}
		return v1, v2
	}
	sync := func(want int) {
		t.Helper()
		done, err := finished(func() error {
			r, err := st.SyncMining(ctx)
			if err == nil && r.Solutions != want {
				err = fmt.Errorf("applied %d solutions, want %d", r.Solutions, want)
			}
			return err
		})
		if !done {
			t.Fatal("the sync waited for another write transaction")
		}
		if err != nil {
			t.Fatal(err)
		}
	}

	t.Run("asynchronous commit", func(t *testing.T) {
		// The follower's commits do not wait for the WAL flush; the writer's do.
		w, f, err := st.WriterSettings(ctx, "synchronous_commit")
		if err != nil || w != "on" || f != "off" {
			t.Fatalf("synchronous_commit: the writer's %q, the follower's %q (%v); want on and off", w, f, err)
		}
	})

	t.Run("another process's claim in progress", func(t *testing.T) {
		claim(0, 20)
		other, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = other.Rollback() }()
		for _, q := range []string{fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", store.WriteLockKey),
			"UPDATE data_version SET v = v + 1 WHERE id = 1"} {
			if _, err := other.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		v0, err := st.DataVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		r1, r2 := rows()
		sync(20)
		if v, err := st.DataVersion(ctx); err != nil || v == v0 {
			t.Fatalf("DataVersion %d after the sync, %v; was %d", v, err, v0)
		}
		if n1, n2 := rows(); n1 != r1 || n2 != r2+1 {
			t.Fatalf("data_version rows went from (%d, %d) to (%d, %d); want row 2 bumped once, row 1 not", r1, r2, n1, n2)
		}
	})

	t.Run("this process's write in progress", func(t *testing.T) {
		claim(20, 5)
		locked, release, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
		go func() {
			done <- st.Write(ctx, func(tx *gorm.DB) error {
				close(locked)
				<-release
				return tx.Exec("UPDATE data_version SET v = v WHERE id = 1").Error
			})
		}()
		<-locked
		sync(5)
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})

	t.Run("another follower's sync in progress", func(t *testing.T) {
		// A follower holding the position's row (mid-batch) holds the next sync back until it
		// ends; that sync then starts from the moved position.
		claim(25, 4)
		other, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = other.Rollback() }()
		var pos int64
		if err := other.QueryRow("SELECT last_id FROM mining_positions WHERE name = 'solutions' FOR UPDATE").Scan(&pos); err != nil {
			t.Fatal(err)
		}
		done := make(chan store.MiningSync, 1)
		go func() {
			r, err := st.SyncMining(ctx)
			if err != nil {
				t.Error(err)
			}
			done <- r
		}()
		waitForLockWait(t, db)
		// The other follower "applies" the first two of the four (moves the position past
		// them) and commits; the waiting sync applies the last two.
		var second int64
		if err := other.QueryRow(`SELECT id FROM notifications WHERE event = 'solution_found' AND id > $1 ORDER BY id OFFSET 1 LIMIT 1`,
			pos).Scan(&second); err != nil {
			t.Fatal(err)
		}
		if _, err := other.Exec("UPDATE mining_positions SET last_id = $1 WHERE name = 'solutions'", second); err != nil {
			t.Fatal(err)
		}
		if err := other.Commit(); err != nil {
			t.Fatal(err)
		}
		if r := <-done; r.Solutions != 2 || r.Position <= second {
			t.Fatalf("the held-back sync applied %+v; want the 2 solutions past %d", r, second)
		}
	})
}

// waitForLockWait waits until a backend of the test's database waits for a row lock.
func waitForLockWait(t *testing.T, db *sql.DB) {
	t.Helper()
	runtest.WaitFor(t, "a backend to wait for the position's row lock", func() bool {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND wait_event_type = 'Lock'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n > 0
	})
}

// TestSyncMining_TwoNotifiers: two stores on one database (two notifiers), each with two
// followers syncing in a loop while outcalls (some repeating a block height) are stored: every
// outcall is applied once, and each repeat is marked against the first of its height.
func TestSyncMining_TwoNotifiers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		dsn := b.DB(t)
		hosts := []*store.Store{openStore(t, dsn), openStore(t, dsn)}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		const n = 240
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for _, h := range []*store.Store{hosts[0], hosts[0], hosts[1], hosts[1]} {
			wg.Go(func() {
				for ctx.Err() == nil {
					if _, err := h.SyncMining(ctx); err != nil && ctx.Err() == nil {
						errs <- err
						return
					}
				}
			})
		}
		for i := range n {
			if _, err := storetest.ClaimOutcall(t.Context(), hosts[i%2], storetest.Outcall{Key: fmt.Sprint(i), Miner: mMiners[i%3],
				At: t0.Add(time.Duration(i) * time.Second), Data: solutionData(mTokenA, i/2, "9", "1")}); err != nil {
				t.Fatal(err)
			}
		}
		cancel()
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if err := storetest.SyncMining(t.Context(), hosts[1]); err != nil {
			t.Fatal(err)
		}
		sum, err := hosts[0].MiningSummary(t.Context(), store.MiningQuery{Token: mTokenA, From: t0, To: t0.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		page, err := hosts[0].Solutions(t.Context(), registry.SolutionFilter{Token: mTokenA, Page: registry.Page{Limit: 500}})
		if err != nil {
			t.Fatal(err)
		}
		repeats := 0
		for _, s := range page.Items {
			if s.RepeatOf != 0 {
				repeats++
			}
		}
		if sum.Solutions != n/2 || len(page.Items) != n || repeats != n/2 {
			t.Fatalf("%d counted, %d listed, %d repeats; want %d, %d, %d", sum.Solutions, len(page.Items), repeats, n/2, n, n/2)
		}
	})
}
