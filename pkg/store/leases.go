package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"canistry/pkg/registry"
)

// LeaseDueCanisters returns the canisters due at now (as DueCanisters) that no other owner
// holds a live lease on, and leases them to owner until now+ttl, in one write transaction.
// Several pollers sweeping one database at once so split the due canisters between them: none
// is read twice in the same round. Expired leases are deleted on the way. limit <= 0 means no
// limit.
func (s *Store) LeaseDueCanisters(ctx context.Context, now time.Time, owner string, ttl time.Duration, limit int) ([]registry.Canister, error) {
	var out []registry.Canister
	err := s.write(ctx, func(tx *gorm.DB) error {
		out = nil
		at := ms(now)
		if err := tx.Exec("DELETE FROM refresh_leases WHERE expires_at <= ?", at).Error; err != nil {
			return err
		}
		due, err := dueCanisters(tx, now, &owner, limit)
		if err != nil {
			return err
		}
		expires := ms(now.Add(ttl))
		for _, c := range due {
			err := tx.Exec(`INSERT INTO refresh_leases (canister_id, owner, expires_at) VALUES (?, ?, ?)
				ON CONFLICT (canister_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at`,
				string(c.ID), owner, expires).Error
			if err != nil {
				return err
			}
		}
		out = due
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("lease due canisters: %w", err)
	}
	return out, nil
}

// ReleaseLeases drops every lease owner holds (its sweep is over).
func (s *Store) ReleaseLeases(ctx context.Context, owner string) error {
	err := s.write(ctx, func(tx *gorm.DB) error {
		return tx.Exec("DELETE FROM refresh_leases WHERE owner = ?", owner).Error
	})
	if err != nil {
		return fmt.Errorf("release refresh leases: %w", err)
	}
	return nil
}
