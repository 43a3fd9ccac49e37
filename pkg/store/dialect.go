package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"

	"gorm.io/gorm"
)

// dialect is every difference between the two backends, in one value that Open picks by the
// database's name: the rest of the package runs the same SQL on both and never asks which
// backend it is on. Adding a difference means adding a field here and setting it for both.
type dialect struct {
	name       string // Backend(): "sqlite" or "postgres"
	migrations string // the directory of the backend's migration set in migrationFS
	// like is the case-insensitive (ASCII) contains operator: SQLite's LIKE, or PostgreSQL's
	// ILIKE on the "C" collation of every text column.
	like string
	// jsonTexts is a FROM item j(value) over the text elements of a JSON array column (%s).
	jsonTexts string
	// jsonField is the text of field %[2]s of a JSON object column %[1]s (NULL when the column
	// does not hold an object).
	jsonField string
	// eventHead selects the event log's oldest id and head (EventLogBounds).
	eventHead string
	// writeLock runs first in every write transaction ("" for none: SQLite's IMMEDIATE
	// transaction already holds its write lock).
	writeLock string
	// dollarParams: the driver takes $1, $2, … instead of ? (database/sql used directly,
	// prepared.go; gorm rewrites them itself).
	dollarParams bool
	// pipelinedClaims: a batch of new keys is claimed in one pgx pipeline (claimpipe.go).
	pipelinedClaims bool
	// columnArrays: the mining follower inserts a batch of solutions as one array per column,
	// unnested (mining_sync.go), instead of a VALUES list of the batch's length.
	columnArrays bool
	// followerApart: the mining follower writes on a connection of its own, without the write
	// lock, locking its positions' rows instead (mining_sync.go); its tables' triggers bump
	// data_version's row 2 (followerTables).
	followerApart bool
	// snapshot begins readSnapshot's transaction (nil: the driver's default).
	snapshot *sql.TxOptions

	open         func(ctx context.Context, s *Store) error          // the pools (and the version probe)
	afterMigrate func(tx *gorm.DB) error                            // nil for nothing
	dataVersion  func(ctx context.Context, s *Store) (int64, error) // DataVersion
	sizeBytes    func(s *Store) int64                               // SizeBytes
	redact       func(path string) string                           // Path
}

// dialectFor returns the dialect of the database at path: PostgreSQL for a postgres:// or
// postgresql:// URL, else a SQLite file.
func dialectFor(path string) dialect {
	if IsPostgresURL(path) {
		return dialect{
			name:       "postgres",
			migrations: "migrations/postgres",
			like:       "ILIKE",
			jsonTexts:  "json_array_elements_text(%s::json) AS j(value)",
			jsonField:  "(CASE WHEN %[1]s LIKE '{%%' THEN %[1]s::jsonb ->> '%[2]s' END)",
			// The newest committed id; when every row was pruned, the sequence's last value. Ids
			// commit in id order (every write holds the write lock), so all ids up to max(id)
			// that will ever commit have.
			eventHead: `SELECT (SELECT min(id) FROM events) AS oldest,
				coalesce((SELECT max(id) FROM events),
					(SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM events_id_seq)) AS head`,
			dollarParams:    true,
			pipelinedClaims: true,
			columnArrays:    true,
			writeLock:       fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", writeLockKey),
			open:            func(_ context.Context, s *Store) error { return s.openPostgres(s.path) },
			afterMigrate:    ensureVersionTriggers,
			followerApart:   true,
			snapshot:        &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true},
			dataVersion:     pgDataVersion,
			sizeBytes:       pgSizeBytes,
			redact:          RedactURL,
		}
	}
	return dialect{
		name:       "sqlite",
		migrations: "migrations",
		like:       "LIKE",
		jsonTexts:  "json_each(%s) AS j", // columns key, value, …
		jsonField:  "(CASE WHEN json_valid(%[1]s) THEN json_extract(%[1]s, '$.%[2]s') END)",
		eventHead: `SELECT (SELECT min(id) FROM events) AS oldest,
			coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'events'), (SELECT max(id) FROM events), 0) AS head`,
		open:        func(ctx context.Context, s *Store) error { return s.openSQLite(ctx, s.path) },
		dataVersion: sqliteDataVersion,
		sizeBytes:   sqliteSizeBytes,
		redact:      func(path string) string { return path },
	}
}

// sqliteSizeBytes is the size of the database file plus its WAL.
func sqliteSizeBytes(s *Store) int64 {
	var n int64
	for _, p := range []string{s.path, s.path + "-wal"} {
		if fi, err := os.Stat(p); err == nil {
			n += fi.Size()
		}
	}
	return n
}
