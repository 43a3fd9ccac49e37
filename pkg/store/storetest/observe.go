// Package storetest stores what the poller would have read, for tests that need tokens,
// miners, stats, balances or a canister's state in a store: each helper saves one part through
// store.SaveRefresh, the poller's one write path, without the refresh bookkeeping, and returns
// what changed.
package storetest

import (
	"context"
	"time"

	"canistry/pkg/registry"
	"canistry/pkg/store"
)

// SaveToken stores what a token canister answered.
func SaveToken(ctx context.Context, s *store.Store, t registry.TokenInfo) ([]string, error) {
	saved, err := s.SaveRefresh(ctx, store.RefreshWrite{ID: t.CanisterID, Token: &t})
	return saved.Changed, err
}

// SaveMiner stores what a miner canister answered.
func SaveMiner(ctx context.Context, s *store.Store, m registry.MinerInfo) ([]string, error) {
	saved, err := s.SaveRefresh(ctx, store.RefreshWrite{ID: m.CanisterID, Miner: &m})
	return saved.Changed, err
}

// AddMinerStats appends one observation to a miner's stats series.
func AddMinerStats(ctx context.Context, s *store.Store, st registry.MinerStats) error {
	_, err := s.SaveRefresh(ctx, store.RefreshWrite{ID: st.CanisterID, Stats: &st})
	return err
}

// SaveBalances stores a wallet's balances.
func SaveBalances(ctx context.Context, s *store.Store, wallet registry.CanisterID, balances []registry.Balance) ([]string, error) {
	saved, err := s.SaveRefresh(ctx, store.RefreshWrite{ID: wallet, Wallet: true, Balances: balances})
	return saved.Changed, err
}

// SaveState stores a canister's certified module hash and controllers as read at at, and
// returns the changes recorded in its history.
func SaveState(ctx context.Context, s *store.Store, id registry.CanisterID, hash string, controllers []string, at time.Time) ([]registry.Change, error) {
	saved, err := s.SaveRefresh(ctx, store.RefreshWrite{ID: id, At: at,
		State: &registry.CanisterState{ModuleHash: hash, Controllers: controllers}})
	return saved.Changes, err
}
