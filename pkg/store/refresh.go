package store

import (
	"context"
	"fmt"
	"math"
	"time"

	"gorm.io/gorm"

	"canistry/pkg/registry"
)

// RecordRefresh stores the poller's bookkeeping for one canister: last attempt and success,
// last error, consecutive failures and when to try next. It touches no other column.
func (s *Store) RecordRefresh(ctx context.Context, id registry.CanisterID, st registry.RefreshState) error {
	err := s.write(ctx, func(tx *gorm.DB) error { return recordRefreshTx(tx, id, st) })
	if err != nil {
		return fmt.Errorf("record refresh of %s: %w", id, notFound(id, err))
	}
	return nil
}

func recordRefreshTx(tx *gorm.DB, id registry.CanisterID, st registry.RefreshState) error {
	res := tx.Exec(`UPDATE canisters SET last_attempt_at = ?, last_success_at = ?, last_error = ?, consecutive_failures = ?,
		next_attempt_at = ? WHERE canister_id = ?`, msPtr(st.LastAttemptAt), msPtr(st.LastSuccessAt), st.LastError,
		st.ConsecutiveFailures, ms(st.NextAttemptAt), string(id))
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return gorm.ErrRecordNotFound
	}
	return nil
}

// RefreshWrite is everything one refresh of a canister stores, written by SaveRefresh in one
// transaction. A nil part was not read (its read failed) and keeps its stored values.
type RefreshWrite struct {
	ID registry.CanisterID
	At time.Time // when the canister was read: the time of its changes
	// State is the certified module hash and controllers.
	State *registry.CanisterState
	Token *registry.TokenInfo
	Miner *registry.MinerInfo
	Stats *registry.MinerStats // appended to the miner_stats series (always written)
	// Balances are a wallet's balances (the ledgers that answered), when Wallet is set.
	Balances []registry.Balance
	Wallet   bool
	// Refresh is the poller's bookkeeping of this attempt (as RecordRefresh); nil keeps the
	// stored one.
	Refresh *registry.RefreshState
	// Events builds the registry events of what changed: the module hash and controllers
	// changes (with their ids) and the names of every changed field. They are appended to the
	// event log in the same transaction. Nil logs nothing.
	Events func(changes []registry.Change, changed []string) ([]registry.Event, error)
}

// RefreshSaved is what SaveRefresh wrote.
type RefreshSaved struct {
	Changes []registry.Change // module hash and controllers changes, with ids
	Changed []string          // every changed field: module_hash, controllers, then the kind's
	Events  []registry.Event  // as logged, with ids and cursors
}

// SaveRefresh stores one refresh in a single write transaction: the state and its change
// history, the kind's row (token, miner or wallet balances), the stats sample, the refresh
// bookkeeping and the events of what changed. So a change and its event are committed
// together, and a refresh costs one commit. A canister that is no longer registered is
// ENOTFOUND and nothing is written.
func (s *Store) SaveRefresh(ctx context.Context, w RefreshWrite) (RefreshSaved, error) {
	var out RefreshSaved
	err := s.write(ctx, func(tx *gorm.DB) error {
		out = RefreshSaved{}
		if w.State != nil {
			changes, err := saveStateTx(tx, w.ID, w.State, w.At)
			if err != nil {
				return err
			}
			out.Changes = changes
			for _, ch := range changes {
				out.Changed = append(out.Changed, ch.Field)
			}
		}
		fields, err := saveKindTx(tx, &w)
		if err != nil {
			return err
		}
		if w.Stats != nil {
			if err := addMinerStatsTx(tx, *w.Stats); err != nil {
				return err
			}
		}
		out.Changed = append(out.Changed, fields...)
		if w.Refresh != nil {
			if err := recordRefreshTx(tx, w.ID, *w.Refresh); err != nil {
				return err
			}
		}
		if w.Events == nil || (len(out.Changes) == 0 && len(out.Changed) == 0) {
			return nil
		}
		evs, err := w.Events(out.Changes, out.Changed)
		if err != nil {
			return err
		}
		out.Events, err = s.appendEvents(tx, evs)
		return err
	})
	if err != nil {
		return RefreshSaved{}, fmt.Errorf("save refresh of %s: %w", w.ID, notRegistered(w.ID, notFound(w.ID, err)))
	}
	return out, nil
}

// saveKindTx writes the kind's part of w and returns the names of its changed fields.
func saveKindTx(tx *gorm.DB, w *RefreshWrite) ([]string, error) {
	switch {
	case w.Token != nil:
		return saveTokenTx(tx, *w.Token)
	case w.Miner != nil:
		return saveMinerTx(tx, *w.Miner)
	case w.Wallet:
		return saveBalancesTx(tx, w.ID, w.Balances)
	}
	return nil, nil
}

// DueCanisters returns the canisters whose next_attempt_at is at or before now, the longest
// waiting first (ties in registration order). limit <= 0 means no limit.
func (s *Store) DueCanisters(ctx context.Context, now time.Time, limit int) ([]registry.Canister, error) {
	out, err := dueCanisters(s.read(ctx), now, nil, limit)
	if err != nil {
		return nil, fmt.Errorf("list due canisters: %w", err)
	}
	return out, nil
}

// dueCanisters reads the canisters due at now, the longest waiting first (ties in
// registration order); with owner set, less those another owner holds a lease on.
func dueCanisters(db *gorm.DB, now time.Time, owner *string, limit int) ([]registry.Canister, error) {
	w := where{}
	w.add("c.next_attempt_at <= ?", ms(now))
	if owner != nil {
		w.add("NOT EXISTS (SELECT 1 FROM refresh_leases l WHERE l.canister_id = c.canister_id AND l.owner <> ?)", *owner)
	}
	if limit <= 0 {
		limit = math.MaxInt32
	}
	return queryList(db, "SELECT "+canisterColumns+canisterFrom+w.sql()+" ORDER BY c.next_attempt_at, c.pk LIMIT ?",
		append(w.args, limit), func(sc scanner) (registry.Canister, error) {
			rec, err := scanCanister(sc)
			return rec.Canister, err
		})
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
	ids, err := queryList(s.read(ctx), `
		SELECT canister_id FROM tokens
		WHERE EXISTS (SELECT 1 FROM `+fmt.Sprintf(s.d.jsonTexts, "tokens.interfaces")+` WHERE j.value = ?)
		UNION
		SELECT ledger_id FROM tokens WHERE ledger_id <> ''
		ORDER BY 1`, []any{registry.InterfaceICRC1}, scanValue[string])
	if err != nil {
		return nil, fmt.Errorf("list tracked ledgers: %w", translate(err))
	}
	out := make([]registry.CanisterID, len(ids))
	for i, id := range ids {
		out[i] = registry.CanisterID(id)
	}
	return out, nil
}
