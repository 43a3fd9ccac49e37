package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"canistry/pkg/registry"
)

// AddCycles stores one cycles and memory observation of a canister and deletes its
// observations older than keepSince, in one transaction. A canister no longer registered is
// ENOTFOUND.
func (s *Store) AddCycles(ctx context.Context, st registry.CyclesPoint, keepSince time.Time) error {
	err := s.write(ctx, func(tx *gorm.DB) error {
		source := st.Source
		if source == "" {
			source = registry.CyclesBlackhole
		}
		res := tx.Exec(`INSERT INTO canister_status (canister_id, observed_at, status, cycles, memory_size, idle_cycles_per_day, source)
			SELECT canister_id, ?, ?, ?, ?, ?, ? FROM canisters WHERE canister_id = ?`,
			ms(st.ObservedAt), st.Status, st.Cycles, st.MemorySize, st.IdleCyclesPerDay, source, string(st.CanisterID))
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return registry.Errorf(registry.ENOTFOUND, "canister %s is not registered", st.CanisterID)
		}
		return tx.Exec("DELETE FROM canister_status WHERE canister_id = ? AND observed_at < ?", string(st.CanisterID), ms(keepSince)).Error
	})
	if err != nil {
		return fmt.Errorf("add cycles of %s: %w", st.CanisterID, err)
	}
	return nil
}

// CyclesRange returns one page of a canister's cycles and memory observations in [r.From, r.To],
// oldest first (ties by insertion), paged like MinerStatsRange.
func (s *Store) CyclesRange(ctx context.Context, id registry.CanisterID, r registry.StatsRange) (registry.List[registry.CyclesPoint], error) {
	return seriesPage(ctx, s, "cycles", id, r, `SELECT id, canister_id, observed_at, status, cycles, memory_size, idle_cycles_per_day,
		source FROM canister_status`, func(sc scanner) (registry.CyclesPoint, registry.Cursor, error) {
		var st registry.CyclesPoint
		var rowID, at int64
		var cid string
		err := sc.Scan(&rowID, &cid, &at, &st.Status, &st.Cycles, &st.MemorySize, &st.IdleCyclesPerDay, &st.Source)
		st.CanisterID, st.ObservedAt = registry.CanisterID(cid), fromMs(at)
		return st, registry.Cursor{Key: at, Tie: rowID}, err
	})
}

// SetStatusRetry records when the poller next asks for the status of a canister whose status
// the IC refused to show (nil: it is not known to be private, ask at every refresh). It lives
// in the canisters row, so the poller learns it with the canister at no extra read, and
// survives restarts. A canister no longer registered is ENOTFOUND.
func (s *Store) SetStatusRetry(ctx context.Context, id registry.CanisterID, at *time.Time) error {
	err := s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Exec("UPDATE canisters SET status_retry_at = ? WHERE canister_id = ?", msPtr(at), string(id))
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return gorm.ErrRecordNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("status retry of %s: %w", id, notFound(id, err))
	}
	return nil
}
