package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"canistry/pkg/registry"
)

// moduleHashColumns are read by every module hash query, in scanModuleHash's order.
const moduleHashColumns = `h.rowid, h.hash, h.name, h.version, h.kind, h.source_url, h.notes, h.created_at,
	(SELECT count(*) FROM canisters c WHERE c.module_hash = h.hash)`

func scanModuleHash(sc scanner) (registry.ModuleHashRecord, error) {
	var r moduleHashRow
	var rec registry.ModuleHashRecord
	err := sc.Scan(&rec.Key, &r.Hash, &r.Name, &r.Version, &r.Kind, &r.SourceURL, &r.Notes, &r.CreatedAt, &rec.Canisters)
	rec.ModuleHash = r.toModuleHash()
	return rec, err
}

// CreateModuleHash records a known build (validated) and returns it as stored. A hash that is
// already known is ECONFLICT.
func (s *Store) CreateModuleHash(ctx context.Context, m registry.ModuleHash) (registry.ModuleHashRecord, error) {
	if err := m.Validate(); err != nil {
		return registry.ModuleHashRecord{}, err
	}
	m.CreatedAt = s.now()
	row := toModuleHashRow(&m)
	var rec registry.ModuleHashRecord
	err := s.write(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		if err := setVerifiedBadgesTx(tx, m.Hash, true); err != nil {
			return err
		}
		var err error
		rec, err = getModuleHash(one(tx.Raw(moduleHashByHash, m.Hash)), m.Hash)
		return err
	})
	if registry.ErrorCode(err) == registry.ECONFLICT {
		return rec, registry.WrapError(registry.ECONFLICT, fmt.Sprintf("module hash %s is already known", m.Hash), err)
	}
	if err != nil {
		return rec, fmt.Errorf("create module hash: %w", err)
	}
	return rec, nil
}

// GetModuleHash returns the known build with hash (64 hex characters, any case).
func (s *Store) GetModuleHash(ctx context.Context, hash string) (registry.ModuleHashRecord, error) {
	h, err := registry.ParseModuleHash(hash)
	if err != nil {
		return registry.ModuleHashRecord{}, err
	}
	rec, err := getModuleHash(s.readOne(ctx, moduleHashByHash, h), h)
	if err != nil {
		return rec, fmt.Errorf("get module hash: %w", err)
	}
	return rec, nil
}

// moduleHashByHash reads one known build by its hash.
const moduleHashByHash = "SELECT " + moduleHashColumns + " FROM module_hashes h WHERE h.hash = ?"

// getModuleHash scans the build that row (moduleHashByHash for hash) read: ENOTFOUND when none.
func getModuleHash(row scanner, hash string) (registry.ModuleHashRecord, error) {
	rec, err := scanModuleHash(row)
	if errors.Is(err, sql.ErrNoRows) {
		return rec, registry.Errorf(registry.ENOTFOUND, "module hash %s is not known", hash)
	}
	return rec, translate(err)
}

// ListModuleHashes returns one page of the known builds matching f, in the order they were
// added, each with the number of registered canisters running it.
func (s *Store) ListModuleHashes(ctx context.Context, f registry.ModuleHashFilter) (registry.List[registry.ModuleHashRecord], error) {
	w := s.where()
	if f.Kind != "" {
		w.add("h.kind = ?", string(f.Kind))
	}
	w.contains(f.Query, "h.hash", "h.name")
	return listPage(ctx, s, listing[registry.ModuleHashRecord]{what: "module hashes", count: "module_hashes h",
		query: "SELECT " + moduleHashColumns + " FROM module_hashes h", keys: []string{"h.rowid"},
		scan: keyed(scanModuleHash, func(r *registry.ModuleHashRecord) int64 { return r.Key })}, w, f.Page)
}
