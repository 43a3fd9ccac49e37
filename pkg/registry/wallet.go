package registry

import "time"

// LedgerBalance is a wallet's latest balance in one ledger, with the ledger's symbol and
// decimals as the registry last read them (Decimals nil while the ledger has not been read).
type LedgerBalance struct {
	Balance
	Symbol   string
	Decimals *int
}

// WalletRecord is a wallet as listed: the canister and its latest balance in every ledger.
type WalletRecord struct {
	CanisterRecord
	Balances []LedgerBalance
}

// BalancePoint is one point of a wallet's balance series: the balance in Ledger from
// ObservedAt until the next point of the same ledger.
type BalancePoint struct {
	ID         int64
	Wallet     CanisterID
	Ledger     CanisterID
	Amount     string // nat, decimal
	ObservedAt time.Time
}
