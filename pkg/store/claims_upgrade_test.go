package store_test

import (
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"canistry/pkg/store"
)

// TestStore_ClaimsUpgrade0017: a database from before migration 0017 (which rebuilds
// notification_claims and notification_copies as WITHOUT ROWID tables on SQLite) keeps its
// claims and recorded copies: a live claim still makes a copy a duplicate of its notification,
// an expired one is replaced, the copies' forensics are as before, and the claims' expiry index
// is back.
func TestStore_ClaimsUpgrade0017(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		path := filepath.Join(t.TempDir(), "old.db")
		driver, dsn, blob := "sqlite", path+"?_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)", "x'7b7d'"
		if b.name == "postgres" {
			path = b.DB(t)
			driver, dsn, blob = "pgx", path, `'\x7b7d'::bytea`
		}
		db, err := sql.Open(driver, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := store.MigrateBelow(db, b.name == "postgres", 17); err != nil {
			t.Fatal(err)
		}
		now := time.UnixMilli(1_700_000_000_000)
		var live, gone int64
		for key, id := range map[string]*int64{"live": &live, "gone": &gone} {
			err := db.QueryRow(`INSERT INTO notifications (dedup_key, miner_id, event, ic_timestamp, data, body_hash, received_at, response_status, response_body)
				VALUES ('` + key + `', 'm', 'mining_started', 5000000, '{}', 'h', 1000, 200, ` + blob + `) RETURNING id`).Scan(id)
			if err != nil {
				t.Fatal(err)
			}
		}
		_, err = db.Exec(`INSERT INTO notification_claims (dedup_key, notification_id, expires_at) VALUES ('live', $1, $2), ('gone', $3, 2000)`,
			live, now.Add(time.Hour).UnixMilli(), gone)
		if err != nil {
			t.Fatal(err)
		}
		_, err = db.Exec(`INSERT INTO notification_copies (notification_id, seq, family, source, offset_ms, body_hash)
			VALUES ($1, 0, 'ipv4', '10.0.0.1', 0, 'h'), ($1, 1, 'ipv6', '::1', 40, 'h2')`, live)
		if err != nil {
			t.Fatal(err)
		}
		s := openStore(t, path)
		ctx := t.Context()
		dup, err := s.ClaimNotification(ctx, newNotification("live", "h", now), time.Minute)
		if err != nil || dup.Claimed || dup.Notification.ID != live {
			t.Errorf("copy of the live key: %+v, %v; want its notification %d, not claimed", dup, err, live)
		}
		again, err := s.ClaimNotification(ctx, newNotification("gone", "h", now), time.Minute)
		if err != nil || !again.Claimed || again.Notification.ID == gone {
			t.Errorf("key of an expired claim: %+v, %v; want a new claim", again, err)
		}
		f, err := s.NotificationForensics(ctx, live)
		if err != nil || f.Recorded != 3 || f.ByFamily["ipv4"] != 1 || f.ByFamily["ipv6"] != 1 || len(f.BodyGroups) != 2 {
			t.Errorf("forensics of the live key: %+v, %v; want its 2 copies and the new one", f, err)
		}
		if b.name == "postgres" {
			return
		}
		for _, q := range []string{"SELECT rowid FROM notification_claims", "SELECT rowid FROM notification_copies"} {
			if _, err := db.Exec(q); err == nil {
				t.Errorf("%s: no error, want a table without rowid", q)
			}
		}
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'notification_claims_expiry'`).Scan(&n); err != nil || n != 1 {
			t.Errorf("notification_claims_expiry: %d, %v", n, err)
		}
	})
}
