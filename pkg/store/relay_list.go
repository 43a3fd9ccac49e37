package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"canistry/pkg/registry"
)

// RelayCall returns the relay call id, with its stored reply.
func (s *Store) RelayCall(ctx context.Context, id int64) (registry.RelayCall, error) {
	c, err := scanRelayCall(s.readOne(ctx, "SELECT "+relayCallColumns+" FROM relay_calls WHERE id = ?", id))
	if err != nil {
		return registry.RelayCall{}, fmt.Errorf("get relay call %d: %w", id, translate(err))
	}
	return c, nil
}

// relayListColumns are relayCallColumns without the stored body (lists leave it out).
const relayListColumns = `id, route, method, path, key_hash, fingerprint, state, owner, lease_expires_at, attempts,
	started_at, finished_at, result, upstream_status, duration_ms, copies, copies_ipv4, copies_ipv6, diverged,
	response_status, response_head, ''`

// ListRelayCalls returns one page of relay calls matching f, by id; the reply bodies are left out.
func (s *Store) ListRelayCalls(ctx context.Context, f registry.RelayCallFilter) (registry.List[registry.RelayCall], error) {
	w := s.where()
	if f.Route != "" {
		w.add("route = ?", f.Route)
	}
	return listPage(ctx, s, listing[registry.RelayCall]{what: "relay calls", count: "relay_calls",
		query: "SELECT " + relayListColumns + " FROM relay_calls", keys: []string{"id"},
		scan: keyed(scanRelayCall, func(c *registry.RelayCall) int64 { return c.ID })}, w, f.Page)
}

// RelayCopies adds copies answered from a notifier's memory to call ID.
type RelayCopies struct {
	ID         int64
	Copies     int
	IPv4, IPv6 int
	Diverged   bool
}

// AddRelayCopies applies a batch of copy counts in one transaction; calls deleted meanwhile are
// skipped.
func (s *Store) AddRelayCopies(ctx context.Context, batch []RelayCopies) error {
	if len(batch) == 0 {
		return nil
	}
	err := s.write(ctx, func(tx *gorm.DB) error {
		for _, c := range batch {
			err := tx.Exec(`UPDATE relay_calls SET copies = copies + ?, copies_ipv4 = copies_ipv4 + ?, copies_ipv6 = copies_ipv6 + ?,
				diverged = (diverged OR ?) WHERE id = ?`, c.Copies, c.IPv4, c.IPv6, c.Diverged, c.ID).Error
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("add relay copies: %w", err)
	}
	return nil
}

// PruneRelay deletes the relay claims whose window ended at or before now, and up to limit
// calls started more than keep before now (oldest first) whose claim is gone; it returns how
// many calls it deleted.
func (s *Store) PruneRelay(ctx context.Context, now time.Time, keep time.Duration, limit int) (int64, error) {
	var n int64
	err := s.write(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec("DELETE FROM relay_claims WHERE expires_at <= ?", ms(now)).Error; err != nil {
			return err
		}
		res := tx.Exec(`DELETE FROM relay_calls WHERE id IN (SELECT c.id FROM relay_calls c WHERE c.started_at < ?
			AND NOT EXISTS (SELECT 1 FROM relay_claims k WHERE k.call_id = c.id) ORDER BY c.id LIMIT ?)`, ms(now.Add(-keep)), limit)
		n = res.RowsAffected
		return res.Error
	})
	if err != nil {
		return 0, fmt.Errorf("prune relay calls: %w", err)
	}
	return n, nil
}
