package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"canistry/pkg/registry"
)

// The read side of what the poller observed: tokens, miners, miner stats and the change
// history, each joined with the registry's refresh state (last success, last error).

// refreshColumns are the refresh state of the canisters row aliased c, in scanRefresh's order.
const refreshColumns = `c.pk, c.name, c.last_attempt_at, c.last_success_at, c.last_error,
	c.consecutive_failures, c.next_attempt_at`

type refreshDest struct {
	pk, failures, next int64
	name, lastError    string
	attempt, success   sql.NullInt64
}

func (d *refreshDest) targets() []any {
	return []any{&d.pk, &d.name, &d.attempt, &d.success, &d.lastError, &d.failures, &d.next}
}

func (d *refreshDest) state() registry.RefreshState {
	return registry.RefreshState{LastAttemptAt: fromMsPtr(nullTime(d.attempt)), LastSuccessAt: fromMsPtr(nullTime(d.success)),
		LastError: d.lastError, ConsecutiveFailures: int(d.failures), NextAttemptAt: fromMs(d.next)}
}

// tokenRowColumns are the tokens row aliased t (less raw), in tokenRow.targets' order.
const tokenRowColumns = `t.canister_id, t.interfaces, t.name, t.symbol, t.decimals, t.fee, t.total_supply,
	t.minting_account, t.supported_standards, t.metadata, t.logo_media_type, t.logo_url, t.logo_dropped,
	t.ledger_id, t.block_height, t.block_reward, t.circulating_supply, t.average_block_time,
	t.mining_progress, t.social_links, t.updated_at, t.index_id`

func (r *tokenRow) targets() []any {
	return []any{&r.CanisterID, &r.Interfaces, &r.Name, &r.Symbol, &r.Decimals, &r.Fee, &r.TotalSupply,
		&r.MintingAccount, &r.SupportedStandards, &r.Metadata, &r.LogoMediaType, &r.LogoURL, &r.LogoDropped,
		&r.LedgerID, &r.BlockHeight, &r.BlockReward, &r.CirculatingSupply, &r.AverageBlockTime,
		&r.MiningProgress, &r.SocialLinks, &r.UpdatedAt, &r.IndexID}
}

const tokenColumns = tokenRowColumns + ", l.media_type, " + refreshColumns

const tokenFrom = ` FROM tokens t JOIN canisters c ON c.canister_id = t.canister_id
	LEFT JOIN token_logos l ON l.canister_id = t.canister_id`

func scanToken(sc scanner) (registry.TokenRecord, error) {
	var r tokenRow
	var logoType sql.NullString
	var d refreshDest
	if err := sc.Scan(append(append(r.targets(), &logoType), d.targets()...)...); err != nil {
		return registry.TokenRecord{}, err
	}
	return registry.TokenRecord{TokenInfo: r.toToken(), Key: d.pk, RegisteredAs: d.name,
		HasLogo: logoType.Valid, LogoMediaType: logoType.String, Refresh: d.state()}, nil
}

// GetToken returns what the poller read from a token canister. A registered canister that was
// never read as a token is ENOTFOUND.
func (s *Store) GetToken(ctx context.Context, id registry.CanisterID) (registry.TokenRecord, error) {
	rec, err := scanToken(s.readOne(ctx, getTokenSQL, string(id)))
	if errors.Is(err, sql.ErrNoRows) {
		return rec, registry.Errorf(registry.ENOTFOUND, "no token data for %s (not registered as a token, or not read yet)", id)
	}
	if err != nil {
		return rec, fmt.Errorf("get token %s: %w", id, translate(err))
	}
	return rec, nil
}

// ListTokens returns one page of the tokens matching f, in registration order.
func (s *Store) ListTokens(ctx context.Context, f registry.TokenFilter) (registry.List[registry.TokenRecord], error) {
	w := s.where()
	w.stale(f.Stale)
	w.contains(f.Query, "t.canister_id", "t.name", "t.symbol")
	return listPage(ctx, s, listing[registry.TokenRecord]{what: "tokens", count: "tokens t JOIN canisters c ON c.canister_id = t.canister_id",
		query: "SELECT " + tokenColumns + tokenFrom, keys: []string{"c.pk"}, scan: keyed(scanToken, func(r *registry.TokenRecord) int64 { return r.Key })}, w, f.Page)
}

// TokenLogo returns the stored logo of a token (ENOTFOUND when there is none).
func (s *Store) TokenLogo(ctx context.Context, id registry.CanisterID) (registry.Logo, error) {
	var r tokenLogoRow
	err := s.readOne(ctx, "SELECT media_type, data, sha256, updated_at FROM token_logos WHERE canister_id = ?", string(id)).
		Scan(&r.MediaType, &r.Data, &r.SHA256, &r.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return registry.Logo{}, registry.Errorf(registry.ENOTFOUND, "no logo stored for %s", id)
	}
	if err != nil {
		return registry.Logo{}, fmt.Errorf("get logo of %s: %w", id, translate(err))
	}
	return registry.Logo{MediaType: r.MediaType, Data: r.Data, SHA256: r.SHA256, UpdatedAt: fromMs(r.UpdatedAt)}, nil
}

// minerRowColumns are the miners row aliased m, in minerRow.targets' order.
const minerRowColumns = `m.canister_id, m.current_token, m.is_mining, m.speed_percentage, m.chunk_size,
	m.chunks_per_refresh, m.icrc_version, m.supports_stats, m.supports_cycle_usage, m.cycle_balance,
	m.cycle_usage_per_hour, m.cycle_usage_last_15min, m.estimated_remaining, m.updated_at`

func (r *minerRow) targets() []any {
	return []any{&r.CanisterID, &r.CurrentToken, &r.IsMining, &r.SpeedPercentage, &r.ChunkSize,
		&r.ChunksPerRefresh, &r.ICRCVersion, &r.SupportsStats, &r.SupportsCycleUsage, &r.CycleBalance,
		&r.CycleUsagePerHour, &r.CycleUsageLast15Min, &r.EstimatedRemaining, &r.UpdatedAt}
}

const minerColumns = minerRowColumns + ", " + refreshColumns

const minerFrom = ` FROM miners m JOIN canisters c ON c.canister_id = m.canister_id`

func scanMiner(sc scanner) (registry.MinerRecord, error) {
	var r minerRow
	var d refreshDest
	if err := sc.Scan(append(r.targets(), d.targets()...)...); err != nil {
		return registry.MinerRecord{}, err
	}
	return registry.MinerRecord{MinerInfo: r.toMiner(), Key: d.pk, RegisteredAs: d.name, Refresh: d.state()}, nil
}

// GetMiner returns what the poller read from a miner canister. A registered canister that was
// never read as a miner is ENOTFOUND.
func (s *Store) GetMiner(ctx context.Context, id registry.CanisterID) (registry.MinerRecord, error) {
	rec, err := scanMiner(s.readOne(ctx, getMinerSQL, string(id)))
	if errors.Is(err, sql.ErrNoRows) {
		return rec, registry.Errorf(registry.ENOTFOUND, "no miner data for %s (not registered as a miner, or not read yet)", id)
	}
	if err != nil {
		return rec, fmt.Errorf("get miner %s: %w", id, translate(err))
	}
	return rec, nil
}

// ListMiners returns one page of the miners matching f, in registration order. With f.Token
// set it lists the miners currently mining that token.
func (s *Store) ListMiners(ctx context.Context, f registry.MinerFilter) (registry.List[registry.MinerRecord], error) {
	w := s.where()
	if f.Token != "" {
		w.add("m.current_token = ?", string(f.Token))
	}
	if f.Mining != nil {
		w.add("m.is_mining = ?", *f.Mining)
	}
	w.stale(f.Stale)
	w.contains(f.Query, "c.canister_id", "c.name")
	return listPage(ctx, s, listing[registry.MinerRecord]{what: "miners", count: "miners m JOIN canisters c ON c.canister_id = m.canister_id",
		query: "SELECT " + minerColumns + minerFrom, keys: []string{"c.pk"}, scan: keyed(scanMiner, func(r *registry.MinerRecord) int64 { return r.Key })}, w, f.Page)
}

const statsColumns = `id, canister_id, observed_at, blocks_mined, total_hashes, hash_rate, total_rewards,
	chunks_since_refresh, start_time`

func scanStats(sc scanner) (minerStatsRow, error) {
	var r minerStatsRow
	err := sc.Scan(&r.ID, &r.CanisterID, &r.ObservedAt, &r.BlocksMined, &r.TotalHashes, &r.HashRate,
		&r.TotalRewards, &r.ChunksSinceRefresh, &r.StartTime)
	return r, err
}

// LatestMinerStats returns the newest stats observation of a miner, or nil when there is none.
func (s *Store) LatestMinerStats(ctx context.Context, id registry.CanisterID) (*registry.MinerStats, error) {
	r, err := scanStats(s.readOne(ctx, "SELECT "+statsColumns+` FROM miner_stats
		WHERE canister_id = ? ORDER BY observed_at DESC, id DESC LIMIT 1`, string(id)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("latest stats of %s: %w", id, translate(err))
	}
	st := r.toMinerStats()
	return &st, nil
}

// MinerStatsRange returns one page of a miner's stats observed in [r.From, r.To], oldest first
// (ties by insertion). The cursor is (observed_at, id), which the (canister_id, observed_at)
// index serves without sorting.
func (s *Store) MinerStatsRange(ctx context.Context, id registry.CanisterID, r registry.StatsRange) (registry.List[registry.MinerStats], error) {
	return seriesPage(ctx, s, "stats", id, r, "SELECT "+statsColumns+" FROM miner_stats", func(sc scanner) (registry.MinerStats, registry.Cursor, error) {
		row, err := scanStats(sc)
		return row.toMinerStats(), registry.Cursor{Key: row.ObservedAt, Tie: row.ID}, err
	})
}

// seriesPage reads one page of a canister's time series (query, named what) observed in
// [r.From, r.To], oldest first, ties by insertion: the keyset is (observed_at, id).
func seriesPage[T any](ctx context.Context, s *Store, what string, id registry.CanisterID, r registry.StatsRange, query string,
	scan func(scanner) (T, registry.Cursor, error)) (registry.List[T], error) {
	w := s.where()
	w.add("canister_id = ?", string(id))
	w.add("observed_at BETWEEN ? AND ?", ms(r.From), ms(r.To))
	r.Page.Desc = false
	return listPage(ctx, s, listing[T]{what: what + " of " + string(id), query: query, keys: []string{"observed_at", "id"}, scan: scan}, w, r.Page)
}

// CanisterHistory returns one page of a canister's module hash and controller changes, newest
// first. The history outlives the canister's registration.
func (s *Store) CanisterHistory(ctx context.Context, id registry.CanisterID, p registry.Page) (registry.List[registry.Change], error) {
	w := s.where()
	w.add("canister_id = ?", string(id))
	p.Desc = true
	scan := func(sc scanner) (registry.Change, error) {
		var r changeRow
		err := sc.Scan(&r.ID, &r.CanisterID, &r.Field, &r.OldValue, &r.NewValue, &r.ObservedAt)
		return r.toChange(), err
	}
	return listPage(ctx, s, listing[registry.Change]{what: "history of " + string(id),
		query: "SELECT id, canister_id, field, old_value, new_value, observed_at FROM module_hash_changes",
		keys:  []string{"id"}, scan: keyed(scan, func(c *registry.Change) int64 { return c.ID })}, w, p)
}
