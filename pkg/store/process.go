package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"canistry/pkg/registry"
)

type processRow struct {
	Name        string `gorm:"primaryKey"`
	Instance    string `gorm:"primaryKey"`
	Version     string
	Addr        string
	StartedAt   int64
	HeartbeatAt int64
}

func (processRow) TableName() string { return "processes" }

// Heartbeat records that process p is alive now. The time is taken inside the write
// transaction, once the write lock is held: a beat that waited for a busy database records when
// it was written, not when it was asked for, so the row is fresh as soon as the lock frees.
func (s *Store) Heartbeat(ctx context.Context, p registry.Process) error {
	err := s.write(ctx, func(tx *gorm.DB) error {
		row := processRow{Name: p.Name, Instance: p.Instance, Version: p.Version, Addr: p.Addr,
			StartedAt: ms(p.StartedAt), HeartbeatAt: ms(s.now())}
		return tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(&row).Error
	})
	if err != nil {
		return fmt.Errorf("heartbeat %s: %w", p.Name, err)
	}
	return nil
}

// Processes returns every heartbeat row, newest heartbeat first.
func (s *Store) Processes(ctx context.Context) ([]registry.Process, error) {
	out, err := queryList(s.read(ctx), "SELECT name, instance, version, addr, started_at, heartbeat_at FROM processes ORDER BY heartbeat_at DESC",
		nil, func(sc scanner) (registry.Process, error) {
			var r processRow
			err := sc.Scan(&r.Name, &r.Instance, &r.Version, &r.Addr, &r.StartedAt, &r.HeartbeatAt)
			return registry.Process{Name: r.Name, Instance: r.Instance, Version: r.Version, Addr: r.Addr,
				StartedAt: fromMs(r.StartedAt), HeartbeatAt: fromMs(r.HeartbeatAt)}, err
		})
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	return out, nil
}

// countedTables are reported by Counts, in this order.
var countedTables = []string{"canisters", "tokens", "miners", "miner_stats", "wallet_balances",
	"module_hashes", "module_hash_changes", "notifications"}

// Count is the row count of one table.
type Count struct {
	Table string
	Rows  int64
}

// LastRefresh returns the newest refresh attempt and the newest success over all canisters
// (nil before the first): when the poller last did any work, whatever the registry's size.
func (s *Store) LastRefresh(ctx context.Context) (attempt, success *time.Time, err error) {
	var a, ok sql.NullInt64
	err = s.readOne(ctx, "SELECT max(last_attempt_at), max(last_success_at) FROM canisters").Scan(&a, &ok)
	if err != nil {
		return nil, nil, fmt.Errorf("last refresh: %w", translate(err))
	}
	return fromMsPtr(nullTime(a)), fromMsPtr(nullTime(ok)), nil
}

// Counts returns the row counts of the main tables.
func (s *Store) Counts(ctx context.Context) ([]Count, error) {
	out := make([]Count, 0, len(countedTables))
	for _, t := range countedTables {
		var n int64
		if err := s.readOne(ctx, "SELECT count(*) FROM "+t).Scan(&n); err != nil {
			return nil, fmt.Errorf("count %s: %w", t, translate(err))
		}
		out = append(out, Count{Table: t, Rows: n})
	}
	return out, nil
}
