package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"canistry/pkg/registry"
)

// The observation write side: what the poller learned from the IC, saved by SaveRefresh in its
// one write transaction. Each part goes through saveIfChanged: it is compared with the stored
// row and written only when something differs, and the names of the fields that changed are
// returned (column names; "logo" for the logo, "balance:<ledger>" for a wallet balance).
//
// The first observation of a canister (no row yet) always writes the row; its changed list
// names the fields that differ from an empty row.

// saveIfChanged is the one save-if-changed step: diff compares an observation with what is
// stored and says whether to write (something changed, or nothing is stored yet); put then
// writes it, given diff's changes. It returns the changes.
func saveIfChanged[C any](tx *gorm.DB, diff func(*gorm.DB) (changes []C, write bool, err error), put func(*gorm.DB, []C) error) ([]C, error) {
	changes, write, err := diff(tx)
	if err != nil || !write {
		return changes, err
	}
	return changes, put(tx, changes)
}

// field is one compared value of a row, rendered as text.
type field struct{ name, value string }

func diffFields(old, cur []field) []string {
	var changed []string
	for i := range cur {
		if old[i].value != cur[i].value {
			changed = append(changed, cur[i].name)
		}
	}
	return changed
}

func optFloat(f *float64) string {
	if f == nil {
		return ""
	}
	return strconv.FormatFloat(*f, 'g', -1, 64)
}

// tokenFields lists the values of a token row that count as data (not updated_at or raw).
func tokenFields(r *tokenRow, logoHash string) []field {
	return []field{
		{"interfaces", r.Interfaces}, {"name", r.Name}, {"symbol", r.Symbol},
		{"decimals", strconv.Itoa(r.Decimals)}, {"fee", r.Fee}, {"total_supply", r.TotalSupply},
		{"minting_account", r.MintingAccount}, {"supported_standards", r.SupportedStandards}, {"index_id", r.IndexID},
		{"metadata", r.Metadata}, {"logo", logoHash}, {"logo_media_type", r.LogoMediaType},
		{"logo_url", r.LogoURL}, {"logo_dropped", strconv.FormatBool(r.LogoDropped)},
		{"ledger_id", r.LedgerID}, {"block_height", r.BlockHeight}, {"block_reward", r.BlockReward},
		{"circulating_supply", r.CirculatingSupply}, {"average_block_time", optFloat(r.AverageBlockTime)},
		{"mining_progress", r.MiningProgress}, {"social_links", r.SocialLinks},
	}
}

func logoDigest(b []byte) string {
	if b == nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// tokenDiff compares row (with logo digest) with the stored token; write when something
// changed or none is stored.
func tokenDiff(db *gorm.DB, row *tokenRow, digest string) (changed []string, write bool, err error) {
	cur := tokenFields(row, digest)
	var old tokenRow
	var oldDigest sql.NullString
	err = one(db.Raw("SELECT "+tokenRowColumns+", l.sha256 FROM tokens t LEFT JOIN token_logos l ON l.canister_id = t.canister_id WHERE t.canister_id = ?",
		row.CanisterID)).
		Scan(append(old.targets(), &oldDigest)...)
	if errors.Is(err, sql.ErrNoRows) {
		empty := toTokenRow(&registry.TokenInfo{CanisterID: registry.CanisterID(row.CanisterID)})
		return diffFields(tokenFields(&empty, ""), cur), true, nil
	}
	if err != nil {
		return nil, false, err
	}
	changed = diffFields(tokenFields(&old, oldDigest.String), cur)
	return changed, len(changed) > 0, nil
}

// saveTokenTx stores what the poller read from a token canister, when it differs from the
// stored token: the tokens row, and the logo in token_logos (its row is deleted when t.Logo is
// nil). It returns the names of the fields that changed.
func saveTokenTx(tx *gorm.DB, t registry.TokenInfo) ([]string, error) {
	row := toTokenRow(&t)
	digest := logoDigest(t.Logo)
	return saveIfChanged(tx, func(tx *gorm.DB) ([]string, bool, error) { return tokenDiff(tx, &row, digest) },
		func(tx *gorm.DB, _ []string) error {
			if err := tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(&row).Error; err != nil {
				return err
			}
			if t.Logo == nil {
				return tx.Exec("DELETE FROM token_logos WHERE canister_id = ?", row.CanisterID).Error
			}
			logo := tokenLogoRow{CanisterID: row.CanisterID, MediaType: t.LogoMediaType, Data: t.Logo,
				SHA256: digest, UpdatedAt: row.UpdatedAt}
			return tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(&logo).Error
		})
}

func minerFields(r *minerRow) []field {
	return []field{
		{"current_token", r.CurrentToken}, {"is_mining", strconv.FormatBool(r.IsMining)},
		{"speed_percentage", strconv.Itoa(r.SpeedPercentage)}, {"chunk_size", strconv.FormatInt(r.ChunkSize, 10)},
		{"chunks_per_refresh", strconv.FormatInt(r.ChunksPerRefresh, 10)}, {"icrc_version", strconv.Itoa(r.ICRCVersion)},
		{"supports_stats", strconv.FormatBool(r.SupportsStats)}, {"supports_cycle_usage", strconv.FormatBool(r.SupportsCycleUsage)},
		{"cycle_balance", r.CycleBalance}, {"cycle_usage_per_hour", optFloat(r.CycleUsagePerHour)},
		{"cycle_usage_last_15min", r.CycleUsageLast15Min}, {"estimated_remaining", r.EstimatedRemaining},
	}
}

// minerDiff compares row with the stored miner; write when something changed or none is stored.
func minerDiff(db *gorm.DB, row *minerRow) (changed []string, write bool, err error) {
	cur := minerFields(row)
	var old minerRow
	err = one(db.Raw("SELECT "+minerRowColumns+" FROM miners m WHERE m.canister_id = ?", row.CanisterID)).Scan(old.targets()...)
	if errors.Is(err, sql.ErrNoRows) {
		empty := toMinerRow(&registry.MinerInfo{CanisterID: registry.CanisterID(row.CanisterID)})
		return diffFields(minerFields(&empty), cur), true, nil
	}
	if err != nil {
		return nil, false, err
	}
	changed = diffFields(minerFields(&old), cur)
	return changed, len(changed) > 0, nil
}

// saveMinerTx stores what the poller read from a miner canister's get_info and
// get_cycle_usage, when it differs from the stored miner, and returns what changed.
func saveMinerTx(tx *gorm.DB, m registry.MinerInfo) ([]string, error) {
	row := toMinerRow(&m)
	return saveIfChanged(tx, func(tx *gorm.DB) ([]string, bool, error) { return minerDiff(tx, &row) },
		func(tx *gorm.DB, _ []string) error {
			return tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(&row).Error
		})
}

// addMinerStatsTx appends one observation to the miner_stats time series. Unlike the other
// parts it always writes: the series is the history.
func addMinerStatsTx(tx *gorm.DB, st registry.MinerStats) error {
	row, err := toMinerStatsRow(&st)
	if err != nil {
		return err
	}
	return tx.Create(&row).Error
}

func balancesDiff(db *gorm.DB, wallet registry.CanisterID, balances []registry.Balance) ([]string, []balanceRow, error) {
	old, err := walletBalances(db, wallet)
	if err != nil {
		return nil, nil, err
	}
	stored := make(map[string]string, len(old))
	for _, r := range old {
		stored[r.LedgerID] = r.Amount
	}
	var changed []string
	var rows []balanceRow
	for i := range balances {
		b := balances[i]
		b.Wallet = wallet
		if amount, ok := stored[string(b.Ledger)]; ok && amount == b.Amount {
			continue
		}
		changed = append(changed, "balance:"+string(b.Ledger))
		rows = append(rows, toBalanceRow(&b))
	}
	return changed, rows, nil
}

// saveBalancesTx stores a wallet's balances, one row per (wallet, ledger), writing those that
// differ from the stored ones. Ledgers absent from balances keep their stored row (a ledger
// that did not answer keeps its last good value). Each written balance is also a point of the
// wallet's series (wallet_balance_history). It returns "balance:<ledger>" for each balance
// that changed or is new.
func saveBalancesTx(tx *gorm.DB, wallet registry.CanisterID, balances []registry.Balance) ([]string, error) {
	var rows []balanceRow
	return saveIfChanged(tx, func(tx *gorm.DB) ([]string, bool, error) {
		changed, changedRows, err := balancesDiff(tx, wallet, balances)
		rows = changedRows
		return changed, len(rows) > 0, err
	}, func(tx *gorm.DB, _ []string) error {
		if err := tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(&rows).Error; err != nil {
			return err
		}
		return addBalanceHistoryTx(tx, rows)
	})
}

// stateDiff compares st with the stored state of id: the module hash and controllers changes
// and a new certified last install (each a history row), and whether a certified creation time
// differs from the stored one (a column, no history row).
func stateDiff(db *gorm.DB, id registry.CanisterID, st *registry.CanisterState, at time.Time) (changes []registry.Change, createdChanged bool, err error) {
	ctrls := slices.Sorted(slices.Values(st.Controllers))
	var old canisterRow
	var created, installed sql.NullInt64
	err = one(db.Raw("SELECT module_hash, controllers, canister_created_at, last_installed_at FROM canisters WHERE canister_id = ?", string(id))).
		Scan(&old.ModuleHash, &old.Controllers, &created, &installed)
	if err != nil {
		return nil, false, err
	}
	if old.ModuleHash != st.ModuleHash {
		changes = append(changes, registry.Change{CanisterID: id, Field: registry.ChangeModuleHash,
			Old: old.ModuleHash, New: st.ModuleHash, ObservedAt: at})
	}
	oldCtrls := slices.Sorted(slices.Values(parseList(old.Controllers)))
	if !slices.Equal(oldCtrls, ctrls) {
		changes = append(changes, registry.Change{CanisterID: id, Field: registry.ChangeControllers,
			Old: strings.Join(oldCtrls, ","), New: strings.Join(ctrls, ","), ObservedAt: at})
	}
	oldInstalled, newInstalled := fromMsPtr(nullTime(installed)), truncMs(st.LastInstalledAt)
	if newInstalled != nil && !sameMs(oldInstalled, newInstalled) {
		changes = append(changes, registry.Change{CanisterID: id, Field: registry.ChangeInstall,
			Old: rfc3339Ptr(oldInstalled), New: rfc3339Ptr(newInstalled), ObservedAt: at})
	}
	newCreated := truncMs(st.CreatedAt)
	createdChanged = newCreated != nil && !sameMs(fromMsPtr(nullTime(created)), newCreated)
	return changes, createdChanged, nil
}

// truncMs is t at the store's precision (ms), nil for nil.
func truncMs(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	return fromMsPtr(msPtr(t))
}

func sameMs(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

func rfc3339Ptr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// saveStateTx stores the certified state of a canister read at at, when it differs from the
// stored one: it updates the canisters row and writes one module_hash_changes row per changed
// module hash, controllers or last install, and returns those changes with their ids (nil when
// none). The certified creation and install times are stored as read (nil: not certified).
//
// Controllers are compared as a set (the IC's order is not meaningful) and stored sorted. A
// never-read canister has module hash "" and no controllers, so its first observation is
// recorded as a change from "" like any other: the history starts with the first hash and
// controllers seen. An empty canister with no controllers has nothing to record. A last install
// is recorded when it is certified and differs from the stored one (the first one seen is
// recorded from ""); a replica that stops certifying it leaves the stored one.
func saveStateTx(tx *gorm.DB, id registry.CanisterID, st *registry.CanisterState, at time.Time) ([]registry.Change, error) {
	return saveIfChanged(tx, func(tx *gorm.DB) ([]registry.Change, bool, error) {
		changes, createdChanged, err := stateDiff(tx, id, st, at)
		return changes, len(changes) > 0 || createdChanged, err
	}, func(tx *gorm.DB, changes []registry.Change) error {
		ctrls := slices.Sorted(slices.Values(st.Controllers))
		err := tx.Exec(`UPDATE canisters SET module_hash = ?, controllers = ?, canister_created_at = COALESCE(?, canister_created_at),
			last_installed_at = COALESCE(?, last_installed_at) WHERE canister_id = ?`,
			st.ModuleHash, jsonList(ctrls), msPtr(st.CreatedAt), msPtr(st.LastInstalledAt), string(id)).Error
		if err != nil {
			return err
		}
		for i := range changes {
			row := toChangeRow(&changes[i])
			if err := tx.Create(&row).Error; err != nil {
				return err
			}
			changes[i].ID = row.ID
		}
		return nil
	})
}

// notFound names the canister when its row is missing; other errors go through translate.
func notFound(id registry.CanisterID, err error) error {
	if errors.Is(err, gorm.ErrRecordNotFound) || errors.Is(err, sql.ErrNoRows) {
		return registry.WrapError(registry.ENOTFOUND, fmt.Sprintf("canister %s is not registered", id), err)
	}
	return translate(err)
}

// notRegistered turns a foreign-key violation (the canister row is gone, e.g. deleted while
// the poller read it) into not_found; other errors go through translate.
func notRegistered(id registry.CanisterID, err error) error {
	if errors.Is(err, gorm.ErrForeignKeyViolated) {
		return registry.WrapError(registry.ENOTFOUND, fmt.Sprintf("canister %s is not registered", id), err)
	}
	return translate(err)
}

// WalletBalances returns the stored balances of a wallet, by ledger id.
func (s *Store) WalletBalances(ctx context.Context, wallet registry.CanisterID) ([]registry.Balance, error) {
	rows, err := walletBalances(s.read(ctx), wallet)
	if err != nil {
		return nil, fmt.Errorf("balances of %s: %w", wallet, err)
	}
	out := make([]registry.Balance, len(rows))
	for i := range rows {
		out[i] = rows[i].toBalance()
	}
	return out, nil
}

// walletBalances reads the balance rows of wallet, by ledger id.
func walletBalances(db *gorm.DB, wallet registry.CanisterID) ([]balanceRow, error) {
	return queryList(db, "SELECT wallet_id, ledger_id, amount, updated_at FROM wallet_balances WHERE wallet_id = ? ORDER BY ledger_id",
		[]any{string(wallet)}, func(sc scanner) (balanceRow, error) {
			var r balanceRow
			err := sc.Scan(&r.WalletID, &r.LedgerID, &r.Amount, &r.UpdatedAt)
			return r, err
		})
}
