package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"canistry/pkg/lifecycle/runtest"
	"canistry/pkg/registry"
	"canistry/pkg/store"
	"canistry/pkg/store/pgtest"
)

// The two migration sets have the same versions: a migration added to one is added to both.
func TestMigrations_SameVersions(t *testing.T) {
	lite, err := store.MigrationVersions(false)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := store.MigrationVersions(true)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(lite, pg) {
		t.Errorf("SQLite migrations %v, PostgreSQL migrations %v (migrations/postgres/): port the missing ones", lite, pg)
	}
}

func TestIsPostgresURL(t *testing.T) {
	for _, tc := range []struct {
		target string
		want   bool
	}{
		{"postgres://u@h/db", true},
		{"postgresql://u@h/db?sslmode=require", true},
		{"./data/registry.db", false},
		{"/var/lib/canistry/postgres://x.db", false},
	} {
		if got := store.IsPostgresURL(tc.target); got != tc.want {
			t.Errorf("IsPostgresURL(%q) = %v, want %v", tc.target, got, tc.want)
		}
	}
	if got := store.RedactURL("postgres://canistry:hunter2@db:5432/x?password=hunter3&sslmode=require"); strings.Contains(got, "hunter") {
		t.Errorf("RedactURL = %q: a password is left", got)
	}
}

// TestPostgres_Backend: a store on PostgreSQL says so, hides its password and measures its size.
func TestPostgres_Backend(t *testing.T) {
	url := backend{name: "postgres"}.DB(t)
	s := openStore(t, url)
	if s.Backend() != "postgres" || s.Path() == "" || s.SizeBytes() == 0 {
		t.Errorf("Backend %q, Path %q, SizeBytes %d", s.Backend(), s.Path(), s.SizeBytes())
	}
	if lite := mustOpenOn(t, backend{name: "sqlite"}); lite.Backend() != "sqlite" {
		t.Errorf("SQLite store says %q", lite.Backend())
	}
}

// TestPostgres_Errors: how PostgreSQL errors reach callers. Serialization failures, deadlocks
// and lost connections inside a write are retried and never surface; a statement timeout is
// unavailable; a unique violation is a conflict.
func TestPostgres_Errors(t *testing.T) {
	url := backend{name: "postgres"}.DB(t)
	s := openStore(t, url)
	raise := func(code string) string {
		return fmt.Sprintf(`DO $$ BEGIN RAISE EXCEPTION 'injected' USING ERRCODE = '%s'; END $$`, code)
	}
	for _, tc := range []struct {
		name  string
		first string // the statement of the first attempt
	}{
		{"SerializationFailure", raise("40001")},
		{"Deadlock", raise("40P01")},
		{"ConnectionLost", "SELECT pg_terminate_backend(pg_backend_pid())"},
		{"ServerShutdown", raise("57P01")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var attempts atomic.Int32
			err := s.Write(t.Context(), func(tx *gorm.DB) error {
				if attempts.Add(1) == 1 {
					return tx.Exec(tc.first).Error
				}
				return tx.Exec("UPDATE data_version SET v = v WHERE id = 1").Error
			})
			if err != nil || attempts.Load() != 2 {
				t.Errorf("Write = %v after %d attempts, want nil after 2", err, attempts.Load())
			}
		})
	}
	t.Run("StatementTimeout", func(t *testing.T) {
		// Long enough for Open's own statements on a loaded machine (20 ms made Open itself
		// time out under load), far shorter than the sleep it must cut.
		short, err := store.Open(t.Context(), url, store.WithStatementTimeout(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		defer short.Close()
		err = short.Write(t.Context(), func(tx *gorm.DB) error { return tx.Exec("SELECT pg_sleep(10)").Error })
		wantCode(t, err, registry.EUNAVAILABLE)
	})
	t.Run("UniqueViolation", func(t *testing.T) {
		err := s.Write(t.Context(), func(tx *gorm.DB) error { return tx.Exec("INSERT INTO data_version (id, v) VALUES (1, 1)").Error })
		wantCode(t, err, registry.ECONFLICT)
	})
}

// TestPostgres_TwoHostsClaim: two stores on one PostgreSQL database (two notifier hosts) claim
// the same keys at once, in batches and singly: every key is claimed exactly once, every copy
// of a key gets the claimed notification, and the event log holds one event per key. A reader
// tailing the log meanwhile (advancing past the highest id it saw, as a hub does) sees every
// id: none commits after a higher one.
func TestPostgres_TwoHostsClaim(t *testing.T) {
	url := backend{name: "postgres"}.DB(t)
	hosts := []*store.Store{openStore(t, url), openStore(t, url)}
	const keys, copiesPerHost, workers = 150, 3, 6
	now := time.UnixMilli(1_700_000_000_000)

	var seen []int64
	stop := make(chan struct{})
	reader := make(chan error, 1)
	go func() {
		var after int64
		for {
			evs, err := hosts[1].Events(context.Background(), after, 0, 500)
			if err != nil {
				reader <- err
				return
			}
			for _, e := range evs {
				seen = append(seen, e.ID)
				after = e.ID
			}
			select {
			case <-stop:
				if len(evs) == 0 {
					reader <- nil
					return
				}
			default:
			}
		}
	}()

	var mu sync.Mutex
	claims := map[string][]store.NotificationClaim{}
	var wg sync.WaitGroup
	errs := make(chan error, 2*workers)
	for h, st := range hosts {
		for w := range workers {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(h), uint64(w)))
				var work []string
				for k := range keys {
					for range copiesPerHost {
						work = append(work, fmt.Sprintf("key-%03d", k))
					}
				}
				rng.Shuffle(len(work), func(i, j int) { work[i], work[j] = work[j], work[i] })
				work = work[:len(work)/workers]
				for len(work) > 0 {
					n := min(len(work), 1+rng.IntN(4)) // batches of 1-4, as the intake's group commit
					batch := make([]*registry.Notification, n)
					for i := range batch {
						batch[i] = newNotification(work[i], "h", now)
					}
					out, err := st.ClaimNotifications(t.Context(), batch, time.Hour)
					if err != nil {
						errs <- err
						return
					}
					mu.Lock()
					for i, c := range out {
						claims[work[i]] = append(claims[work[i]], c)
					}
					mu.Unlock()
					work = work[n:]
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	close(stop)
	if err := <-reader; err != nil {
		t.Fatal(err)
	}

	var logged []int64
	for key, cs := range claims {
		won := 0
		for _, c := range cs {
			if c.Claimed {
				won++
				logged = append(logged, c.Event.ID)
			}
			if c.Notification.ID != cs[0].Notification.ID || c.Refused {
				t.Errorf("%s: copies got notifications %d and %d (refused %v)", key, cs[0].Notification.ID, c.Notification.ID, c.Refused)
			}
		}
		if won != 1 {
			t.Errorf("%s claimed %d times, want once", key, won)
		}
		n, err := hosts[0].NotificationByKey(t.Context(), key)
		if err != nil || n.Copies != len(cs) {
			t.Errorf("%s: stored copies %d, %v; want %d", key, n.Copies, err, len(cs))
		}
	}
	all, err := hosts[0].Events(t.Context(), 0, 0, 10*keys)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(claims) || len(logged) != len(claims) {
		t.Fatalf("%d keys, %d claims, %d logged events", len(claims), len(logged), len(all))
	}
	slices.Sort(logged)
	if got := ids(all); !slices.Equal(got, logged) {
		t.Errorf("log ids %v, claimed event ids %v", got, logged)
	}
	if !slices.Equal(seen, logged) {
		t.Errorf("the tailing reader saw %d ids %v, want all %d in order", len(seen), seen, len(logged))
	}
}

// TestPostgres_Outage: while the server is down, a read is unavailable and a write whose
// context ends is unavailable; writes that keep their context wait (retrying with backoff)
// and succeed once the server is back, each claim exactly once, with no error shown.
func TestPostgres_Outage(t *testing.T) {
	srv := pgtest.New(t)
	s := openStore(t, srv.Database(t))
	ctx := t.Context()
	if err := srv.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.Ping(ctx), registry.EUNAVAILABLE)

	const writers = 8
	var wg sync.WaitGroup
	var started atomic.Int32
	results := make(chan store.NotificationClaim, writers)
	errs := make(chan error, writers)
	for i := range writers {
		wg.Go(func() {
			started.Add(1)
			c, err := s.ClaimNotification(ctx, newNotification(fmt.Sprintf("outage-%d", i%4), "h", time.Now()), time.Hour)
			if err != nil {
				errs <- err
				return
			}
			results <- c
		})
	}
	runtest.WaitFor(t, "writers started", func() bool { return started.Load() == writers })
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	wantCode(t, s.Heartbeat(short, registry.Process{Name: "api", Instance: "outage"}), registry.EUNAVAILABLE)
	cancel()

	if err := srv.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	close(results)
	for err := range errs {
		t.Errorf("a write during the outage failed: %v", err)
	}
	claimed := map[string]int{}
	for c := range results {
		if c.Claimed {
			claimed[c.Notification.DedupKey]++
		}
	}
	if len(claimed) != 4 {
		t.Errorf("claims %v: want each of 4 keys claimed once", claimed)
	}
	for k, n := range claimed {
		if n != 1 {
			t.Errorf("%s claimed %d times", k, n)
		}
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("after the outage: %v", err)
	}
}
