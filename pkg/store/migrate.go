package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"gorm.io/gorm"
)

// migrationFS holds both sets: migrations/*.sql for SQLite, migrations/postgres/*.sql for
// PostgreSQL, with the same version numbers and meaning (TestMigrations_SameVersions).
//
//go:embed migrations/*.sql migrations/postgres/*.sql
var migrationFS embed.FS

// migration is one ordered SQL file, migrations/NNNN_name.sql.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads the migration set in dir of migrationFS, in version order.
func loadMigrations(dir string) ([]migration, error) {
	files, err := fs.Glob(migrationFS, dir+"/*.sql")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, f := range files {
		base := strings.TrimSuffix(strings.TrimPrefix(f, dir+"/"), ".sql")
		num, name, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration file %s: want NNNN_name.sql", f)
		}
		b, err := migrationFS.ReadFile(f)
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i := 1; i < len(out); i++ {
		if out[i].version == out[i-1].version {
			return nil, fmt.Errorf("two migrations numbered %d", out[i].version)
		}
	}
	return out, nil
}

// migrate applies every pending migration, each in its own IMMEDIATE transaction that first
// re-checks whether another process applied it meanwhile. So three binaries starting at once on
// an empty data directory serialise on the write lock and end with one schema. On PostgreSQL
// the write lock is pg_advisory_xact_lock(writeLockKey), taken by every write transaction, so
// processes on several hosts starting at once serialise the same way.
func (s *Store) migrate(ctx context.Context) error {
	migs, err := loadMigrations(s.d.migrations)
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	err = s.write(ctx, func(tx *gorm.DB) error {
		return tx.Exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT    NOT NULL,
			applied_at BIGINT  NOT NULL)`).Error
	})
	if err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for _, m := range migs {
		err := s.write(ctx, func(tx *gorm.DB) error {
			var n int64
			if err := one(tx.Raw("SELECT count(*) FROM schema_migrations WHERE version = ?", m.version)).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if err := tx.Exec(m.sql).Error; err != nil {
				return err
			}
			return tx.Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
				m.version, m.name, ms(s.now())).Error
		})
		if err != nil {
			return fmt.Errorf("apply migration %04d_%s: %w", m.version, m.name, err)
		}
	}
	if s.d.afterMigrate != nil {
		if err := s.write(ctx, s.d.afterMigrate); err != nil {
			return fmt.Errorf("after migrations: %w", err)
		}
	}
	return nil
}

// SchemaVersion returns the highest applied migration.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.readOne(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&v)
	return v, translate(err)
}
