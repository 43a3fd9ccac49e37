package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"canistry/pkg/registry"
)

// AddCanisterStatus stores one cycles and memory observation of a canister and deletes its
// observations older than keepSince, in one transaction. A canister no longer registered is
// ENOTFOUND.
func (s *Store) AddCanisterStatus(ctx context.Context, st registry.CanisterStatus, keepSince time.Time) error {
	err := s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Exec(`INSERT INTO canister_status (canister_id, observed_at, status, cycles, memory_size, idle_cycles_per_day)
			SELECT canister_id, ?, ?, ?, ?, ? FROM canisters WHERE canister_id = ?`,
			ms(st.ObservedAt), st.Status, st.Cycles, st.MemorySize, st.IdleCyclesPerDay, string(st.CanisterID))
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return registry.Errorf(registry.ENOTFOUND, "canister %s is not registered", st.CanisterID)
		}
		return tx.Exec("DELETE FROM canister_status WHERE canister_id = ? AND observed_at < ?", string(st.CanisterID), ms(keepSince)).Error
	})
	if err != nil {
		return fmt.Errorf("add status of %s: %w", st.CanisterID, err)
	}
	return nil
}

// CanisterStatusRange returns one page of a canister's status observations in [r.From, r.To],
// oldest first (ties by insertion), paged like MinerStatsRange.
func (s *Store) CanisterStatusRange(ctx context.Context, id registry.CanisterID, r registry.StatsRange) (registry.CanisterStatusPage, error) {
	w := s.where()
	w.add("canister_id = ?", string(id))
	w.add("observed_at BETWEEN ? AND ?", ms(r.From), ms(r.To))
	if r.Page.AfterTie > 0 {
		w.add("(observed_at, id) > (?, ?)", r.Page.After, r.Page.AfterTie)
	}
	limit := pageLimit(r.Page)
	type row struct {
		id, at int64
		st     registry.CanisterStatus
	}
	rows, err := queryList(ctx, s.rdb, `SELECT id, canister_id, observed_at, status, cycles, memory_size, idle_cycles_per_day
		FROM canister_status`+w.sql()+" ORDER BY observed_at, id LIMIT ?", append(w.args, limit+1), func(sc scanner) (row, error) {
		var r row
		var cid string
		err := sc.Scan(&r.id, &cid, &r.at, &r.st.Status, &r.st.Cycles, &r.st.MemorySize, &r.st.IdleCyclesPerDay)
		r.st.CanisterID, r.st.ObservedAt = registry.CanisterID(cid), fromMs(r.at)
		return r, err
	})
	if err != nil {
		return registry.CanisterStatusPage{}, fmt.Errorf("status of %s: %w", id, err)
	}
	var page registry.CanisterStatusPage
	if len(rows) > limit {
		page.Next = &registry.Cursor{Key: rows[limit-1].at, Tie: rows[limit-1].id}
		rows = rows[:limit]
	}
	page.Items = make([]registry.CanisterStatus, len(rows))
	for i := range rows {
		page.Items[i] = rows[i].st
	}
	return page, nil
}
