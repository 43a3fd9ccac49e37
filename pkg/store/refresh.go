package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"canistry/pkg/registry"
)

// RecordRefresh stores the poller's bookkeeping for one canister: last attempt and success,
// last error, consecutive failures and when to try next. It touches no other column.
func (s *Store) RecordRefresh(ctx context.Context, id registry.CanisterID, st registry.RefreshState) error {
	err := s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&canisterRow{}).Where("canister_id = ?", string(id)).Updates(map[string]any{
			"last_attempt_at":      msPtr(st.LastAttemptAt),
			"last_success_at":      msPtr(st.LastSuccessAt),
			"last_error":           st.LastError,
			"consecutive_failures": st.ConsecutiveFailures,
			"next_attempt_at":      ms(st.NextAttemptAt),
		})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return gorm.ErrRecordNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record refresh of %s: %w", id, notFound(id, err))
	}
	return nil
}

// DueCanisters returns the canisters whose next_attempt_at is at or before now, the longest
// waiting first (ties in registration order). limit <= 0 means no limit.
func (s *Store) DueCanisters(ctx context.Context, now time.Time, limit int) ([]registry.Canister, error) {
	q := s.read(ctx).Where("next_attempt_at <= ?", ms(now)).Order("next_attempt_at, pk")
	if limit > 0 {
		q = q.Limit(limit)
	}
	var rows []canisterRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list due canisters: %w", translate(err))
	}
	out := make([]registry.Canister, len(rows))
	for i := range rows {
		out[i] = rows[i].toCanister()
	}
	return out, nil
}

// pruneBatch bounds one delete transaction so that pruning a large backlog never holds the
// write lock for long.
const pruneBatch = 5000

// PruneMinerStats deletes miner_stats rows observed before before, in batches of pruneBatch
// rows per transaction, and returns how many it deleted.
func (s *Store) PruneMinerStats(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		var n int64
		err := s.write(ctx, func(tx *gorm.DB) error {
			res := tx.Exec(`DELETE FROM miner_stats WHERE id IN
				(SELECT id FROM miner_stats WHERE observed_at < ? LIMIT ?)`, ms(before), pruneBatch)
			n = res.RowsAffected
			return res.Error
		})
		if err != nil {
			return total, fmt.Errorf("prune miner stats: %w", err)
		}
		total += n
		if n < pruneBatch {
			return total, nil
		}
	}
}

// TrackedLedgers returns the ICRC-1 ledgers whose balances wallets are read in: every
// registered token canister that answered the ICRC-1 interface itself, and every ledger a PoW
// token names (ledger_id). Sorted, without repeats.
func (s *Store) TrackedLedgers(ctx context.Context) ([]registry.CanisterID, error) {
	var ids []string
	err := s.read(ctx).Raw(`
		SELECT canister_id FROM tokens
		WHERE EXISTS (SELECT 1 FROM json_each(tokens.interfaces) WHERE json_each.value = ?)
		UNION
		SELECT ledger_id FROM tokens WHERE ledger_id <> ''
		ORDER BY 1`, registry.InterfaceICRC1).Scan(&ids).Error
	if err != nil {
		return nil, fmt.Errorf("list tracked ledgers: %w", translate(err))
	}
	out := make([]registry.CanisterID, len(ids))
	for i, id := range ids {
		out[i] = registry.CanisterID(id)
	}
	return out, nil
}
