package store

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"canistry/pkg/registry"
)

// PutModuleHash creates the known build m.Hash or replaces its fields (validated), keeping its
// list position and creation time, and returns it as stored; created says which. The stored
// verified badge of every canister running the hash follows in the same transaction.
func (s *Store) PutModuleHash(ctx context.Context, m registry.ModuleHash) (rec registry.ModuleHashRecord, created bool, err error) {
	if err := m.Validate(); err != nil {
		return rec, false, err
	}
	err = s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Exec("UPDATE module_hashes SET name = ?, version = ?, kind = ?, source_url = ?, notes = ? WHERE hash = ?",
			m.Name, m.Version, string(m.Kind), m.SourceURL, m.Notes, m.Hash)
		if res.Error != nil {
			return res.Error
		}
		created = res.RowsAffected == 0
		if created {
			m.CreatedAt = s.now()
			row := toModuleHashRow(&m)
			if err := tx.Create(&row).Error; err != nil {
				return err
			}
		}
		if err := setVerifiedBadgesTx(tx, m.Hash, true); err != nil {
			return err
		}
		rec, err = getModuleHash(one(tx.Raw(moduleHashByHash, m.Hash)), m.Hash)
		return err
	})
	if err != nil {
		return rec, false, fmt.Errorf("put module hash: %w", err)
	}
	return rec, created, nil
}

// DeleteModuleHash forgets the known build hash (ENOTFOUND when it is not known): canisters
// running it are no longer verified, and their stored verified badge is cleared in the same
// transaction.
func (s *Store) DeleteModuleHash(ctx context.Context, hash string) error {
	h, err := registry.ParseModuleHash(hash)
	if err != nil {
		return err
	}
	err = s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Exec("DELETE FROM module_hashes WHERE hash = ?", h)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return registry.Errorf(registry.ENOTFOUND, "module hash %s is not known", h)
		}
		return setVerifiedBadgesTx(tx, h, false)
	})
	if err != nil {
		return fmt.Errorf("delete module hash: %w", err)
	}
	return nil
}
