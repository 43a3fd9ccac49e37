package store_test

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"canistry/pkg/registry"
	"canistry/pkg/store"
)

func ids(evs []registry.Event) []int64 {
	out := make([]int64, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

func wantIDs(tb testing.TB, what string, got []registry.Event, want ...int64) {
	tb.Helper()
	if fmt.Sprint(ids(got)) != fmt.Sprint(want) {
		tb.Errorf("%s: ids %v, want %v", what, ids(got), want)
	}
}

// TestStore_EventLog: claims, registry writes and refreshes append to one log in commit order;
// reads are bounded both ways; cursors carry the epoch; retention moves the oldest id while the
// head is remembered.
func TestStore_EventLog(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		path := b.DB(t)
		s := openStore(t, path)
		ctx := t.Context()
		if b, err := s.EventLogBounds(ctx); err != nil || b.Oldest != 1 || b.Head != 0 || b.Epoch == "" || b.Epoch != s.Epoch() {
			t.Fatalf("new log: %+v, %v", b, err)
		}
		now := time.UnixMilli(1_700_000_000_000)
		c, err := s.ClaimNotification(ctx, newNotification("k1", "h", now), time.Minute)
		if err != nil || !c.Claimed {
			t.Fatal(c, err)
		}
		e := c.Event
		if e.ID != 1 || e.NotificationID != c.Notification.ID || e.Event != registry.EventSolutionFound || e.Timestamp != 1_700_000_000_123 ||
			string(e.Data) != `{"token_id":"x"}` || e.MinerID != "ryjl3-tyaaa-aaaaa-aaaba-cai" || e.Cursor != s.Epoch()+":1" {
			t.Errorf("claimed event: %+v", e)
		}
		// A duplicate copy logs nothing.
		if d, err := s.ClaimNotification(ctx, newNotification("k1", "h", now), time.Minute); err != nil || d.Claimed || d.Event.ID != 0 {
			t.Errorf("duplicate: %+v, %v", d, err)
		}
		ann := &store.Announcement{Name: registry.EventCanisterRegistered, At: now,
			Data: func(r registry.CanisterRecord) any { return map[string]any{"canister_id": r.ID, "kind": r.Kind} }}
		id := testID(1)
		if _, err := s.CreateCanister(ctx, registry.Canister{ID: id, Kind: registry.KindToken}, ann); err != nil {
			t.Fatal(err)
		}
		if ann.Event.ID != 2 || ann.Event.Event != registry.EventCanisterRegistered || string(ann.Event.Data) != `{"canister_id":"`+string(id)+`","kind":"token"}` {
			t.Errorf("registered event: %+v", ann.Event)
		}
		// A write that fails logs nothing: the event is in the write's own transaction.
		dup := &store.Announcement{Name: registry.EventCanisterRegistered, At: now, Data: ann.Data}
		if _, err := s.CreateCanister(ctx, registry.Canister{ID: id, Kind: registry.KindToken}, dup); registry.ErrorCode(err) != registry.ECONFLICT {
			t.Fatalf("second registration: %v", err)
		}
		upd := &store.Announcement{Name: registry.EventCanisterUpdated, At: now, Data: ann.Data}
		name := "renamed"
		if _, err := s.UpdateCanister(ctx, id, registry.CanisterUpdate{Name: &name}, upd); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			if _, err := s.ClaimNotification(ctx, newNotification(fmt.Sprint("k", i+2), "h", now), time.Minute); err != nil {
				t.Fatal(err)
			}
		}
		all, err := s.Events(ctx, 0, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		wantIDs(t, "whole log", all, 1, 2, 3, 4, 5, 6)
		for _, e := range all {
			if e.Cursor != s.Epoch()+":"+fmt.Sprint(e.ID) {
				t.Errorf("event %d: cursor %q", e.ID, e.Cursor)
			}
		}
		page, err := s.Events(ctx, 2, 5, 2)
		if err != nil {
			t.Fatal(err)
		}
		wantIDs(t, "after 2 up to 5, limit 2", page, 3, 4)
		page, _ = s.Events(ctx, 2, 4, 100)
		wantIDs(t, "after 2 up to 4", page, 3, 4)

		// Retention: old events go, the oldest id moves, an emptied log remembers its head.
		if n, err := s.PruneEvents(ctx, time.Now().Add(time.Hour), 0, 4); err != nil || n != 4 {
			t.Fatalf("prune: %d, %v", n, err)
		}
		if b, err := s.EventLogBounds(ctx); err != nil || b.Oldest != 5 || b.Head != 6 {
			t.Errorf("after pruning 4: %+v, %v", b, err)
		}
		if n, err := s.PruneEvents(ctx, time.Now().Add(time.Hour), 0, 100); err != nil || n != 2 {
			t.Fatalf("prune the rest: %d, %v", n, err)
		}
		if b, err := s.EventLogBounds(ctx); err != nil || b.Oldest != 7 || b.Head != 6 {
			t.Errorf("emptied log: %+v, %v", b, err)
		}
		if n, err := s.PruneEvents(ctx, time.Now(), time.Hour, 100); err != nil || n != 0 {
			t.Errorf("prune within retention: %d, %v", n, err)
		}
	})
}

// TestStore_EventLogEpoch: the epoch is fixed for a database (it survives reopening) and new
// for a recreated one.
func TestStore_EventLogEpoch(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		dbA := b.DB(t)
		a, other := openStore(t, dbA), openStore(t, b.DB(t))
		if a.Epoch() == other.Epoch() || len(a.Epoch()) != 16 || strings.Trim(a.Epoch(), "0123456789abcdef") != "" {
			t.Errorf("epochs %q and %q: want two different 16-hex-digit epochs", a.Epoch(), other.Epoch())
		}
		again := openStore(t, dbA)
		if again.Epoch() != a.Epoch() {
			t.Errorf("reopened: epoch %q, want %q", again.Epoch(), a.Epoch())
		}
	})
}

// TestStore_EventLogUpgrade: a database from before the log (schema 2) keeps its notification
// ids as event ids, so a client's ?since= stays valid across the upgrade, and new events follow.
func TestStore_EventLogUpgrade(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) { eventLogUpgrade(t, b) })
}

func eventLogUpgrade(t *testing.T, b backend) {
	path := filepath.Join(t.TempDir(), "old.db")
	driver, dsn, dir, blob := "sqlite", path+"?_pragma=busy_timeout(5000)", "", "x'7b7d'"
	if b.name == "postgres" {
		path = b.DB(t)
		driver, dsn, dir, blob = "pgx", path, "postgres/", `'\x7b7d'::bytea`
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, f := range []string{"0001_init", "0002_notification_refusals"} {
		sqlText, err := store.MigrationSQL(dir + f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(sqlText); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	_, err = db.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL);
		INSERT INTO schema_migrations VALUES (1, 'init', 0), (2, 'notification_refusals', 0);
		INSERT INTO notifications (id, dedup_key, miner_id, event, ic_timestamp, data, body_hash, received_at, response_status, response_body)
		VALUES (7, 'a', 'm', 'mining_started', 5000000, '{"n":1}', 'h', 1000, 200, ` + blob + `),
		       (9, 'b', 'm', 'solution_found', 6000000, '{"n":2}', 'h', 2000, 200, ` + blob + `);`)
	if err != nil {
		t.Fatal(err)
	}
	s := openStore(t, path)
	evs, err := s.Events(t.Context(), 0, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	wantIDs(t, "backfilled", evs, 7, 9)
	if e := evs[1]; e.Event != "solution_found" || e.NotificationID != 9 || e.Timestamp != 6 || string(e.Data) != `{"n":2}` || e.MinerID != "m" {
		t.Errorf("backfilled event: %+v", e)
	}
	c, err := s.ClaimNotification(t.Context(), newNotification("new", "h", time.Now()), time.Minute)
	if err != nil || c.Event.ID != 10 || !strings.HasPrefix(c.Event.Cursor, s.Epoch()+":") {
		t.Errorf("first new event: %+v, %v; want id 10", c.Event, err)
	}
}

// TestStore_SaveRefreshEvents: one refresh writes its changes and their events in one
// transaction; an unchanged refresh logs nothing; a canister deleted meanwhile is not_found
// and nothing is written.
func TestStore_SaveRefreshEvents(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := openStore(t, b.DB(t))
		ctx := t.Context()
		id := mustRegister(t, s, 1, registry.KindMiner)
		at := time.UnixMilli(1_700_000_000_000).UTC()
		events := func(changes []registry.Change, changed []string) ([]registry.Event, error) {
			var out []registry.Event
			for _, ch := range changes {
				e, _ := registry.NewEvent(registry.EventModuleHashChanged, map[string]any{"field": ch.Field, "change_id": ch.ID}, at)
				out = append(out, e)
			}
			e, _ := registry.NewEvent(registry.EventCanisterUpdated, map[string]any{"changed": changed}, at)
			return append(out, e), nil
		}
		w := store.RefreshWrite{ID: id, At: at, State: &registry.CanisterState{ModuleHash: "ab", Controllers: []string{"c1"}},
			Miner: &registry.MinerInfo{CanisterID: id, CurrentToken: "t", UpdatedAt: at},
			Stats: &registry.MinerStats{CanisterID: id, ObservedAt: at}, Events: events,
			Refresh: &registry.RefreshState{LastAttemptAt: &at, LastSuccessAt: &at, NextAttemptAt: at}}
		saved, err := s.SaveRefresh(ctx, w)
		if err != nil {
			t.Fatal(err)
		}
		if len(saved.Changes) != 2 || len(saved.Events) != 3 || saved.Events[2].Event != registry.EventCanisterUpdated {
			t.Fatalf("saved %+v", saved)
		}
		wantChanged(t, saved.Changed, "module_hash", "controllers", "current_token")
		logged, _ := s.Events(ctx, 0, 0, 10)
		wantIDs(t, "logged", logged, 1, 2, 3)
		if got := count(t, s, "miner_stats", "canister_id = ?", string(id)); got != 1 {
			t.Errorf("miner_stats rows %d, want 1", got)
		}
		rec, _ := s.GetCanister(ctx, id)
		if rec.Refresh.LastSuccessAt == nil || !rec.Refresh.LastSuccessAt.Equal(at) || rec.ModuleHash != "ab" {
			t.Errorf("stored %+v", rec)
		}

		// Nothing changed: the attempt is recorded, no event logged.
		later := at.Add(time.Minute)
		w.Refresh.LastAttemptAt, w.Stats = &later, nil
		saved, err = s.SaveRefresh(ctx, w)
		if err != nil || len(saved.Events) != 0 || len(saved.Changed) != 0 {
			t.Errorf("unchanged refresh: %+v, %v", saved, err)
		}
		rec, _ = s.GetCanister(ctx, id)
		if rec.Refresh.LastAttemptAt == nil || !rec.Refresh.LastAttemptAt.Equal(later) {
			t.Errorf("attempt not recorded: %+v", rec.Refresh)
		}

		// Deleted while it was read.
		if _, err := s.DeleteCanister(ctx, id); err != nil {
			t.Fatal(err)
		}
		w.State.ModuleHash = "cd"
		_, err = s.SaveRefresh(ctx, w)
		wantCode(t, err, registry.ENOTFOUND)
		logged, _ = s.Events(ctx, 0, 0, 10)
		wantIDs(t, "after the deleted canister's refresh", logged, 1, 2, 3)
	})
}
