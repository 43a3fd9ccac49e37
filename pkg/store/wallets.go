package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"canistry/pkg/registry"
)

// The wallets read side: the wallets (canisters of kind wallet) with their latest balances, and
// the balance series of one wallet from wallet_balance_history.

// ledgerBalanceQuery reads balances with each ledger's symbol and decimals: from the ledger's
// own tokens row when it is a registered token, else from the PoW token that names it.
const ledgerBalanceQuery = `SELECT b.wallet_id, b.ledger_id, b.amount, b.updated_at,
	COALESCE(t.symbol, p.symbol, ''), COALESCE(t.decimals, p.decimals)
	FROM wallet_balances b
	LEFT JOIN tokens t ON t.canister_id = b.ledger_id
	LEFT JOIN tokens p ON p.canister_id = (SELECT MIN(x.canister_id) FROM tokens x WHERE x.ledger_id = b.ledger_id)`

func scanLedgerBalance(sc scanner) (registry.LedgerBalance, error) {
	var r balanceRow
	var sym string
	var dec sql.NullInt64
	err := sc.Scan(&r.WalletID, &r.LedgerID, &r.Amount, &r.UpdatedAt, &sym, &dec)
	b := registry.LedgerBalance{Balance: r.toBalance(), Symbol: sym}
	if dec.Valid {
		d := int(dec.Int64)
		b.Decimals = &d
	}
	return b, err
}

// balancesOf reads the latest balances of the wallets ids, by wallet.
func balancesOf(db *gorm.DB, ids []registry.CanisterID) (map[registry.CanisterID][]registry.LedgerBalance, error) {
	out := make(map[registry.CanisterID][]registry.LedgerBalance, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = string(id)
	}
	in := strings.Repeat("?, ", len(ids)-1) + "?"
	rows, err := queryList(db, ledgerBalanceQuery+" WHERE b.wallet_id IN ("+in+") ORDER BY b.wallet_id, b.ledger_id", args, scanLedgerBalance)
	if err != nil {
		return nil, err
	}
	for _, b := range rows {
		out[b.Wallet] = append(out[b.Wallet], b)
	}
	return out, nil
}

// ListWallets returns one page of the wallets matching f (its Kind is set to wallet), in
// registration order, each with its latest balances.
func (s *Store) ListWallets(ctx context.Context, f registry.CanisterFilter) (registry.List[registry.WalletRecord], error) {
	f.Kind = registry.KindWallet
	page, err := s.ListCanisters(ctx, f)
	if err != nil {
		return registry.List[registry.WalletRecord]{}, err
	}
	ids := make([]registry.CanisterID, len(page.Items))
	for i := range page.Items {
		ids[i] = page.Items[i].ID
	}
	bals, err := balancesOf(s.read(ctx), ids)
	if err != nil {
		return registry.List[registry.WalletRecord]{}, fmt.Errorf("list wallets: %w", err)
	}
	out := registry.List[registry.WalletRecord]{Total: page.Total, Next: page.Next, Items: make([]registry.WalletRecord, len(page.Items))}
	for i := range page.Items {
		out.Items[i] = registry.WalletRecord{CanisterRecord: page.Items[i], Balances: bals[page.Items[i].ID]}
	}
	return out, nil
}

// GetWallet returns a wallet with its latest balances; a canister that is not a wallet is
// ENOTFOUND like one that is not registered.
func (s *Store) GetWallet(ctx context.Context, id registry.CanisterID) (registry.WalletRecord, error) {
	rec, err := s.GetCanister(ctx, id)
	if err != nil {
		return registry.WalletRecord{}, err
	}
	if rec.Kind != registry.KindWallet {
		return registry.WalletRecord{}, registry.Errorf(registry.ENOTFOUND, "canister %s is not a wallet (kind %s)", id, rec.Kind)
	}
	bals, err := balancesOf(s.read(ctx), []registry.CanisterID{id})
	if err != nil {
		return registry.WalletRecord{}, fmt.Errorf("get wallet %s: %w", id, err)
	}
	return registry.WalletRecord{CanisterRecord: rec, Balances: bals[id]}, nil
}

// BalanceRange returns one page of a wallet's balance changes in [r.From, r.To], oldest first
// (ties by insertion), paged like CyclesRange. ledger "" means every ledger.
func (s *Store) BalanceRange(ctx context.Context, wallet, ledger registry.CanisterID, r registry.StatsRange) (registry.List[registry.BalancePoint], error) {
	w := s.where()
	w.add("canister_id = ?", string(wallet))
	if ledger != "" {
		w.add("ledger_id = ?", string(ledger))
	}
	w.add("observed_at BETWEEN ? AND ?", ms(r.From), ms(r.To))
	r.Page.Desc = false
	return listPage(ctx, s, listing[registry.BalancePoint]{what: "balances of " + string(wallet),
		query: "SELECT id, canister_id, ledger_id, amount, observed_at FROM wallet_balance_history",
		keys:  []string{"observed_at", "id"}, scan: scanBalancePoint}, w, r.Page)
}

func scanBalancePoint(sc scanner) (registry.BalancePoint, registry.Cursor, error) {
	var p registry.BalancePoint
	var wid, lid string
	var at int64
	err := sc.Scan(&p.ID, &wid, &lid, &p.Amount, &at)
	p.Wallet, p.Ledger, p.ObservedAt = registry.CanisterID(wid), registry.CanisterID(lid), fromMs(at)
	return p, registry.Cursor{Key: at, Tie: p.ID}, err
}

// addBalanceHistoryTx appends the balance rows just written to the series.
func addBalanceHistoryTx(tx *gorm.DB, rows []balanceRow) error {
	for _, r := range rows {
		err := tx.Exec("INSERT INTO wallet_balance_history (canister_id, ledger_id, amount, observed_at) VALUES (?, ?, ?, ?)",
			r.WalletID, r.LedgerID, r.Amount, r.UpdatedAt).Error
		if err != nil {
			return err
		}
	}
	return nil
}

// PruneBalanceHistory deletes balance points observed before before, in batches like
// PruneMinerStats, and returns how many it deleted. The latest balances (wallet_balances) stay.
func (s *Store) PruneBalanceHistory(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		var n int64
		err := s.write(ctx, func(tx *gorm.DB) error {
			res := tx.Exec(`DELETE FROM wallet_balance_history WHERE id IN
				(SELECT id FROM wallet_balance_history WHERE observed_at < ? LIMIT ?)`, ms(before), pruneBatch)
			n = res.RowsAffected
			return res.Error
		})
		if err != nil {
			return total, fmt.Errorf("prune balance history: %w", err)
		}
		total += n
		if n < pruneBatch {
			return total, nil
		}
	}
}
