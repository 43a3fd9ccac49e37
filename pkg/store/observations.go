package store

import (
	"context"
	"crypto/sha256"
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

// The observation write side: what the poller learned from the IC. Every Save* method compares
// the observation with the stored row and writes only when something differs, returning the
// names of the fields that changed (column names; "logo" for the logo, "balance:<ledger>" for a
// wallet balance). An unchanged observation costs one read on the read pool and no write
// transaction at all. The comparison is repeated inside the write transaction, so the stored
// result is right even if another writer got there first.
//
// The first observation of a canister (no row yet) always writes the row; its changed list
// names the fields that differ from an empty row.

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
		{"minting_account", r.MintingAccount}, {"supported_standards", r.SupportedStandards},
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

// SaveToken stores what the poller read from a token canister: the tokens row, and the logo in
// token_logos (its row is deleted when t.Logo is nil). It returns the names of the fields that
// changed and writes nothing when none did. The canister must be registered (not_found
// otherwise).
func (s *Store) SaveToken(ctx context.Context, t registry.TokenInfo) (changed []string, err error) {
	row := toTokenRow(&t)
	changed, isNew, err := tokenDiff(s.read(ctx), &row, logoDigest(t.Logo))
	if err != nil {
		return nil, fmt.Errorf("save token %s: %w", t.CanisterID, translate(err))
	}
	if len(changed) == 0 && !isNew {
		return nil, nil
	}
	err = s.write(ctx, func(tx *gorm.DB) error {
		changed, err = saveTokenTx(tx, t)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("save token %s: %w", t.CanisterID, notRegistered(t.CanisterID, err))
	}
	return changed, nil
}

// tokenDiff compares row (with logo digest) with the stored token; isNew means none is stored.
func tokenDiff(db *gorm.DB, row *tokenRow, digest string) (changed []string, isNew bool, err error) {
	cur := tokenFields(row, digest)
	var old tokenRow
	err = db.Where("canister_id = ?", row.CanisterID).Take(&old).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		empty := toTokenRow(&registry.TokenInfo{CanisterID: registry.CanisterID(row.CanisterID)})
		return diffFields(tokenFields(&empty, ""), cur), true, nil
	}
	if err != nil {
		return nil, false, err
	}
	var oldDigest string
	err = db.Model(&tokenLogoRow{}).Where("canister_id = ?", row.CanisterID).Pluck("sha256", &oldDigest).Error
	if err != nil {
		return nil, false, err
	}
	return diffFields(tokenFields(&old, oldDigest), cur), false, nil
}

// saveTokenTx writes t inside tx when it differs from the stored token, and returns what changed.
func saveTokenTx(tx *gorm.DB, t registry.TokenInfo) ([]string, error) {
	row := toTokenRow(&t)
	digest := logoDigest(t.Logo)
	changed, isNew, err := tokenDiff(tx, &row, digest)
	if err != nil || (len(changed) == 0 && !isNew) {
		return changed, err
	}
	if err := tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(&row).Error; err != nil {
		return nil, err
	}
	if t.Logo == nil {
		return changed, tx.Where("canister_id = ?", row.CanisterID).Delete(&tokenLogoRow{}).Error
	}
	logo := tokenLogoRow{CanisterID: row.CanisterID, MediaType: t.LogoMediaType, Data: t.Logo,
		SHA256: digest, UpdatedAt: row.UpdatedAt}
	return changed, tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(&logo).Error
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

// SaveMiner stores what the poller read from a miner canister's get_info and get_cycle_usage.
// It returns the names of the fields that changed and writes nothing when none did.
func (s *Store) SaveMiner(ctx context.Context, m registry.MinerInfo) ([]string, error) {
	row := toMinerRow(&m)
	changed, isNew, err := minerDiff(s.read(ctx), &row)
	if err != nil {
		return nil, fmt.Errorf("save miner %s: %w", m.CanisterID, translate(err))
	}
	if len(changed) == 0 && !isNew {
		return nil, nil
	}
	err = s.write(ctx, func(tx *gorm.DB) error {
		changed, err = saveMinerTx(tx, m)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("save miner %s: %w", m.CanisterID, notRegistered(m.CanisterID, err))
	}
	return changed, nil
}

func minerDiff(db *gorm.DB, row *minerRow) (changed []string, isNew bool, err error) {
	cur := minerFields(row)
	var old minerRow
	err = db.Where("canister_id = ?", row.CanisterID).Take(&old).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		empty := toMinerRow(&registry.MinerInfo{CanisterID: registry.CanisterID(row.CanisterID)})
		return diffFields(minerFields(&empty), cur), true, nil
	}
	if err != nil {
		return nil, false, err
	}
	return diffFields(minerFields(&old), cur), false, nil
}

// saveMinerTx writes m inside tx when it differs from the stored miner, and returns what changed.
func saveMinerTx(tx *gorm.DB, m registry.MinerInfo) ([]string, error) {
	row := toMinerRow(&m)
	changed, isNew, err := minerDiff(tx, &row)
	if err != nil || (len(changed) == 0 && !isNew) {
		return changed, err
	}
	return changed, tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(&row).Error
}

// AddMinerStats appends one observation to the miner_stats time series. Unlike the Save*
// methods it always writes: the series is the history.
func (s *Store) AddMinerStats(ctx context.Context, st registry.MinerStats) error {
	if err := s.write(ctx, func(tx *gorm.DB) error { return addMinerStatsTx(tx, st) }); err != nil {
		return fmt.Errorf("add miner stats %s: %w", st.CanisterID, notRegistered(st.CanisterID, err))
	}
	return nil
}

func addMinerStatsTx(tx *gorm.DB, st registry.MinerStats) error {
	row, err := toMinerStatsRow(&st)
	if err != nil {
		return err
	}
	return tx.Create(&row).Error
}

// SaveBalances stores a wallet's balances, one row per (wallet, ledger). Ledgers absent from
// balances keep their stored row (a ledger that did not answer keeps its last good value). It
// returns "balance:<ledger>" for each balance that changed or is new, and writes nothing when
// none did.
func (s *Store) SaveBalances(ctx context.Context, wallet registry.CanisterID, balances []registry.Balance) ([]string, error) {
	changed, _, err := balancesDiff(s.read(ctx), wallet, balances)
	if err != nil {
		return nil, fmt.Errorf("save balances of %s: %w", wallet, translate(err))
	}
	if len(changed) == 0 {
		return nil, nil
	}
	err = s.write(ctx, func(tx *gorm.DB) error {
		changed, err = saveBalancesTx(tx, wallet, balances)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("save balances of %s: %w", wallet, notRegistered(wallet, err))
	}
	return changed, nil
}

func balancesDiff(db *gorm.DB, wallet registry.CanisterID, balances []registry.Balance) ([]string, []balanceRow, error) {
	var old []balanceRow
	if err := db.Where("wallet_id = ?", string(wallet)).Find(&old).Error; err != nil {
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

// saveBalancesTx writes the balances that differ from the stored ones inside tx.
func saveBalancesTx(tx *gorm.DB, wallet registry.CanisterID, balances []registry.Balance) ([]string, error) {
	changed, rows, err := balancesDiff(tx, wallet, balances)
	if err != nil || len(rows) == 0 {
		return changed, err
	}
	return changed, tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(&rows).Error
}

// SaveCanisterState stores the certified module hash and controllers of a canister read at
// at. Inside one write transaction it compares them with the stored values, updates the
// canisters row and writes one module_hash_changes row per changed field, and returns those
// changes (nil when nothing changed, in which case nothing is written).
//
// Controllers are compared as a set (the IC's order is not meaningful) and stored sorted. A
// never-read canister has module hash "" and no controllers, so its first observation is
// recorded as a change from "" like any other: the history starts with the first hash and
// controllers seen. An empty canister with no controllers has nothing to record.
func (s *Store) SaveCanisterState(ctx context.Context, id registry.CanisterID, moduleHash string, controllers []string, at time.Time) ([]registry.Change, error) {
	changes, err := stateDiff(s.read(ctx), id, moduleHash, controllers, at)
	if err != nil {
		return nil, fmt.Errorf("save state of %s: %w", id, notFound(id, err))
	}
	if len(changes) == 0 {
		return nil, nil
	}
	err = s.write(ctx, func(tx *gorm.DB) error {
		changes, err = saveStateTx(tx, id, moduleHash, controllers, at)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("save state of %s: %w", id, notFound(id, err))
	}
	return changes, nil
}

func stateDiff(db *gorm.DB, id registry.CanisterID, moduleHash string, controllers []string, at time.Time) ([]registry.Change, error) {
	ctrls := slices.Sorted(slices.Values(controllers))
	var old canisterRow
	err := db.Select("module_hash", "controllers").Where("canister_id = ?", string(id)).Take(&old).Error
	if err != nil {
		return nil, err
	}
	var changes []registry.Change
	if old.ModuleHash != moduleHash {
		changes = append(changes, registry.Change{CanisterID: id, Field: registry.ChangeModuleHash,
			Old: old.ModuleHash, New: moduleHash, ObservedAt: at})
	}
	oldCtrls := slices.Sorted(slices.Values(parseList(old.Controllers)))
	if !slices.Equal(oldCtrls, ctrls) {
		changes = append(changes, registry.Change{CanisterID: id, Field: registry.ChangeControllers,
			Old: strings.Join(oldCtrls, ","), New: strings.Join(ctrls, ","), ObservedAt: at})
	}
	return changes, nil
}

// saveStateTx stores a changed module hash and controllers inside tx, with one
// module_hash_changes row per changed field, and returns the changes with their ids.
func saveStateTx(tx *gorm.DB, id registry.CanisterID, moduleHash string, controllers []string, at time.Time) ([]registry.Change, error) {
	changes, err := stateDiff(tx, id, moduleHash, controllers, at)
	if err != nil || len(changes) == 0 {
		return changes, err
	}
	ctrls := slices.Sorted(slices.Values(controllers))
	err = tx.Model(&canisterRow{}).Where("canister_id = ?", string(id)).
		Updates(map[string]any{"module_hash": moduleHash, "controllers": jsonList(ctrls)}).Error
	if err != nil {
		return nil, err
	}
	for i := range changes {
		row := toChangeRow(&changes[i])
		if err := tx.Create(&row).Error; err != nil {
			return nil, err
		}
		changes[i].ID = row.ID
	}
	return changes, nil
}

// notFound names the canister when its row is missing; other errors go through translate.
func notFound(id registry.CanisterID, err error) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
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
	var rows []balanceRow
	if err := s.read(ctx).Where("wallet_id = ?", string(wallet)).Order("ledger_id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("balances of %s: %w", wallet, translate(err))
	}
	out := make([]registry.Balance, len(rows))
	for i := range rows {
		out[i] = rows[i].toBalance()
	}
	return out, nil
}
