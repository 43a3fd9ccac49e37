package store

import (
	"context"

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
