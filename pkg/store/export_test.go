package store

import (
	"context"
	"database/sql"
	"fmt"
	"net"

	"gorm.io/gorm"
)

// Write exposes the IMMEDIATE write path to the external tests.
func (s *Store) Write(ctx context.Context, fn func(tx *gorm.DB) error) error { return s.write(ctx, fn) }

// MigrationSQL returns the SQL of one migration file (name without .sql), for upgrade tests.
func MigrationSQL(name string) (string, error) {
	b, err := migrationFS.ReadFile("migrations/" + name + ".sql")
	return string(b), err
}

// MigrationVersions lists the version numbers of one backend's migration set, in order.
func MigrationVersions(pg bool) ([]int, error) {
	target := "registry.db"
	if pg {
		target = "postgres://"
	}
	migs, err := loadMigrations(dialectFor(target).migrations)
	out := make([]int, len(migs))
	for i, m := range migs {
		out[i] = m.version
	}
	return out, err
}

// WithoutPipeline makes a PostgreSQL store claim every batch on the general path
// (claimBatchTx), the reference the pipelined one is compared with.
func WithoutPipeline() Option { return func(s *Store) { s.noPipeline = true } }

// WithWriterConn wraps each connection of the PostgreSQL writer pool in wrap.
func WithWriterConn(wrap func(net.Conn) net.Conn) Option {
	return func(s *Store) { s.writerDial = wrap }
}

// WithReaderConn wraps each connection of the PostgreSQL read pool in wrap.
func WithReaderConn(wrap func(net.Conn) net.Conn) Option {
	return func(s *Store) { s.readerDial = wrap }
}

// WriteLockKey is the PostgreSQL advisory lock every write transaction holds.
const WriteLockKey = writeLockKey

// MigrateBelow applies one backend's migrations numbered below version to db, as Open would,
// and records them in schema_migrations: a database as an older release left it (upgrade tests).
func MigrateBelow(db *sql.DB, pg bool, version int) error {
	target := "registry.db"
	if pg {
		target = "postgres://"
	}
	migs, err := loadMigrations(dialectFor(target).migrations)
	if err != nil {
		return err
	}
	if _, err := db.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return err
	}
	for _, m := range migs {
		if m.version >= version {
			break
		}
		if _, err := db.Exec(m.sql); err != nil {
			return fmt.Errorf("migration %d: %w", m.version, err)
		}
		if _, err := db.Exec(fmt.Sprintf("INSERT INTO schema_migrations VALUES (%d, '%s', 0)", m.version, m.name)); err != nil {
			return err
		}
	}
	return nil
}
