package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"canistry/pkg/registry"
	"canistry/pkg/store"
)

// tripCounter counts the round trips of a store's PostgreSQL writer connections: every Write
// is one (pgx writes a statement, or a whole pipeline up to its Sync, at once, then waits for
// the reply), except database/sql's liveness ping of a connection idle for over a second
// (stdlib.Conn.ResetSession), which is not the claim's.
type tripCounter struct{ n atomic.Int64 }

type countedConn struct {
	net.Conn
	c *tripCounter
}

func (c countedConn) Write(p []byte) (int, error) {
	if !(len(p) > 0 && p[0] == 'Q' && bytes.Contains(p, []byte("-- ping"))) {
		c.c.n.Add(1)
	}
	return c.Conn.Write(p)
}

func (t *tripCounter) wrap(c net.Conn) net.Conn { return countedConn{Conn: c, c: t} }

// TestPostgres_ClaimRoundTrips: on PostgreSQL a batch of new keys is claimed in one round trip
// (lock, look, inserts and commit in one pipeline), whatever its size, with every claim and its
// event as the general path writes them; a batch the pipeline does not take (a key claimed
// before, a key twice) falls back to the general path and takes more, correctly.
func TestPostgres_ClaimRoundTrips(t *testing.T) {
	postgresServer(t)
	var trips tripCounter
	s := openStore(t, backend{name: "postgres"}.DB(t), store.WithWriterConn(trips.wrap))
	s.PrepareClaims(t.Context()) // as the intake does when it starts
	now := time.UnixMilli(1_700_000_000_000)
	batch := func(keys ...string) []*registry.Notification {
		var ns []*registry.Notification
		for _, k := range keys {
			ns = append(ns, newNotification(k, "h", now))
		}
		return ns
	}
	many := make([]string, 64)
	for i := range many {
		many[i] = fmt.Sprintf("many-%d", i)
	}
	cases := []struct {
		name    string
		ns      []*registry.Notification
		claimed int   // how many of the batch are claimed
		trips   int64 // 0: more than one
	}{
		{"first batch (statements prepared by PrepareClaims)", batch("w1", "w2"), 2, 1},
		{"one new key", batch("a"), 1, 1},
		{"64 new keys", batch(many...), 64, 1},
		{"a key claimed before", batch("b", "a"), 1, 0},
		{"a key twice", batch("c", "c"), 1, 0},
		{"new keys after a fallback", batch("d", "e", "f"), 3, 1},
	}
	for _, tc := range cases {
		trips.n.Store(0)
		out, err := s.ClaimNotifications(t.Context(), tc.ns, time.Minute)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got := trips.n.Load()
		if tc.name == cases[0].name && (out[0].Notification.ID != 1 || out[1].Notification.ID != 2 || out[1].Event.ID != out[0].Event.ID+1) {
			// Open's warm-up runs the pipeline's statement on no rows and rolls it back: no
			// row, no id taken.
			t.Errorf("%s: ids %d, %d (events %d, %d), want 1, 2 and consecutive events", tc.name,
				out[0].Notification.ID, out[1].Notification.ID, out[0].Event.ID, out[1].Event.ID)
		}
		claimed := 0
		for _, c := range out {
			if c.Claimed {
				claimed++
				if c.Event.ID == 0 || c.Event.NotificationID != c.Notification.ID {
					t.Errorf("%s: claim of %s has event %+v", tc.name, c.Notification.DedupKey, c.Event)
				}
			}
		}
		switch {
		case claimed != tc.claimed:
			t.Errorf("%s: %d claimed, want %d", tc.name, claimed, tc.claimed)
		case tc.trips != 0 && got != tc.trips:
			t.Errorf("%s: %d round trips, want %d", tc.name, got, tc.trips)
		case tc.trips == 0 && got <= 1:
			t.Errorf("%s: %d round trips, want the general path's several", tc.name, got)
		}
		t.Logf("%s: %d round trips", tc.name, got)
	}
	// A DSN that asks pgx for another query mode (e.g. for a pooler) keeps the general path.
	var simple tripCounter
	sp := openStore(t, backend{name: "postgres"}.DB(t)+"&default_query_exec_mode=simple_protocol", store.WithWriterConn(simple.wrap))
	for _, keys := range [][]string{{"s1"}, {"s2"}} {
		simple.n.Store(0)
		out, err := sp.ClaimNotifications(t.Context(), batch(keys...), time.Minute)
		if err != nil || !out[0].Claimed {
			t.Fatalf("simple protocol: %+v %v", out, err)
		}
		if got := simple.n.Load(); got <= 1 {
			t.Errorf("simple protocol: %d round trips, want the general path's several", got)
		}
	}
	// The general path, for comparison: a statement per round trip.
	var general tripCounter
	g := openStore(t, backend{name: "postgres"}.DB(t), store.WithWriterConn(general.wrap), store.WithoutPipeline())
	for i := range 2 { // the first prepares the statements of its shape
		keys := make([]string, len(many))
		for j := range keys {
			keys[j] = fmt.Sprintf("g%d-%d", i, j)
		}
		general.n.Store(0)
		if _, err := g.ClaimNotifications(t.Context(), batch(keys...), time.Minute); err != nil {
			t.Fatal(err)
		}
		if got := general.n.Load(); i == 1 && got <= 1 {
			t.Errorf("general path: %d round trips for 64 new keys, want several", got)
		} else if i == 1 {
			t.Logf("general path, 64 new keys: %d round trips", got)
		}
	}
}

// TestPostgres_ClaimPipelineWaits: the pipelined claim's waits end with the caller's deadline,
// whether it waits for the write lock (another host writing) or for a table's lock, before or
// after its statements are prepared on the connection; the claim then fails with nothing
// written, and the same batch claims normally once the lock is released. No statement_timeout
// bounds the waits here, and the lock is released only after a long patience: a wait that
// ignored the deadline would end in a successful claim.
func TestPostgres_ClaimPipelineWaits(t *testing.T) {
	postgresServer(t)
	now := time.UnixMilli(1_700_000_000_000)
	cases := []struct {
		name   string
		lock   string
		warmUp bool // statements prepared before the lock is taken
	}{
		{"write lock", fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", store.WriteLockKey), true},
		{"notifications table", "LOCK TABLE notifications IN ACCESS EXCLUSIVE MODE", true},
		{"events table", "LOCK TABLE events IN ACCESS EXCLUSIVE MODE", true},
		{"notifications table, not prepared yet", "LOCK TABLE notifications IN ACCESS EXCLUSIVE MODE", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url := backend{name: "postgres"}.DB(t)
			s := openStore(t, url, store.WithStatementTimeout(0))
			if tc.warmUp {
				if _, err := s.ClaimNotifications(t.Context(), []*registry.Notification{newNotification("w", "h", now)}, time.Minute); err != nil {
					t.Fatal(err)
				}
			}
			head := eventHead(t, s)
			release := holdLock(t, url, tc.lock)
			patience := time.AfterFunc(30*time.Second, release)
			defer patience.Stop()
			ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
			defer cancel()
			batch := func() []*registry.Notification {
				return []*registry.Notification{newNotification("a", "h", now), newNotification("b", "h", now)}
			}
			if _, err := s.ClaimNotifications(ctx, batch(), time.Minute); err == nil {
				t.Fatal("claimed while the lock was held past the deadline")
			} else {
				t.Logf("%v (%s)", err, registry.ErrorCode(err))
			}
			release()
			if got := eventHead(t, s); got != head {
				t.Errorf("event log head %d after the failed claim, want %d", got, head)
			}
			out, err := s.ClaimNotifications(t.Context(), batch(), time.Minute)
			if err != nil || !out[0].Claimed || !out[1].Claimed || out[0].Notification.Copies != 1 {
				t.Fatalf("after the release: %+v %v", out, err)
			}
		})
	}
}

func eventHead(t *testing.T, s *store.Store) int64 {
	t.Helper()
	b, err := s.EventLogBounds(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return b.Head
}

// holdLock takes lock in a transaction of its own connection to url until release.
func holdLock(t *testing.T, url, lock string) (release func()) {
	t.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	tx, err := db.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(t.Context(), lock); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() { once.Do(func() { _ = tx.Rollback() }) }
	t.Cleanup(release)
	return release
}

// TestPostgres_ClaimPipelineWaitsForWriter: a pipelined claim waiting for the writer
// connection, which another write of the same process holds, gives up when its ctx ends
// (unavailable, nothing written); the batch claims normally once the write is done.
func TestPostgres_ClaimPipelineWaitsForWriter(t *testing.T) {
	postgresServer(t)
	s := openStore(t, backend{name: "postgres"}.DB(t))
	now := time.UnixMilli(1_700_000_000_000)
	locked, release, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() { done <- s.Write(t.Context(), func(*gorm.DB) error { close(locked); <-release; return nil }) }()
	<-locked
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	batch := []*registry.Notification{newNotification("a", "h", now)}
	if _, err := s.ClaimNotifications(ctx, batch, time.Minute); registry.ErrorCode(err) != registry.EUNAVAILABLE {
		t.Errorf("claim while another write holds the writer: %v, want unavailable", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	out, err := s.ClaimNotifications(t.Context(), batch, time.Minute)
	if err != nil || !out[0].Claimed || out[0].Event.ID != 1 {
		t.Fatalf("after the write: %+v %v", out, err)
	}
}
