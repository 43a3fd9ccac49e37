package registry

import "time"

// MinerInfo is what the poller read from a miner canister's get_info and get_cycle_usage.
type MinerInfo struct {
	CanisterID       CanisterID
	CurrentToken     string // principal text, "" if not connected
	IsMining         bool
	SpeedPercentage  uint8
	ChunkSize        uint64
	ChunksPerRefresh uint64
	ICRCVersion      uint8

	// Supports says which optional methods answered (older miners lack get_cycle_usage).
	SupportsStats      bool
	SupportsCycleUsage bool

	CycleBalance           string   // nat, decimal; "" if unknown
	CycleUsagePerHour      *float64 // cycles per hour
	CycleUsageLast15Min    string   // nat, decimal
	EstimatedRemainingTime string   // as the canister phrases it

	UpdatedAt time.Time
}

// MinerStats is one observation of a miner's get_mining_stats.
type MinerStats struct {
	CanisterID         CanisterID
	ObservedAt         time.Time
	BlocksMined        uint64
	TotalHashes        uint64
	HashRate           float64
	TotalRewards       uint64
	ChunksSinceRefresh uint64
	StartTime          uint64 // IC time, ns
}

// Balance is a wallet's balance in one ICRC-1 ledger.
type Balance struct {
	Wallet    CanisterID
	Ledger    CanisterID
	Amount    string // nat, decimal
	UpdatedAt time.Time
}
