package ictest

import (
	"sync"

	"github.com/aviate-labs/agent-go/candid/idl"
	"github.com/aviate-labs/agent-go/principal"
)

// MinerInfo is a miner canister's get_info record.
type MinerInfo struct {
	CurrentToken     *principal.Principal `ic:"current_token"`
	IsMining         bool                 `ic:"is_mining"`
	SpeedPercentage  uint8                `ic:"speed_percentage"`
	ChunksPerRefresh uint64               `ic:"chunks_per_refresh"`
	ChunkSize        uint64               `ic:"chunk_size"`
	ICRCVersion      uint8                `ic:"icrc_version"`
}

// MiningStats is a miner canister's get_mining_stats record.
type MiningStats struct {
	BlocksMined        uint64  `ic:"blocks_mined"`
	TotalHashes        uint64  `ic:"total_hashes"`
	StartTime          uint64  `ic:"start_time"`
	LastHashRate       float64 `ic:"last_hash_rate"`
	TotalRewards       uint64  `ic:"total_rewards"`
	ChunksSinceRefresh uint64  `ic:"chunks_since_refresh"`
}

// CycleMeasurement is one sample of a miner's cycle balance.
type CycleMeasurement struct {
	Timestamp uint64  `ic:"timestamp"`
	Balance   idl.Nat `ic:"balance"`
}

// CycleUsage is a miner canister's get_cycle_usage record.
type CycleUsage struct {
	CurrentBalance         idl.Nat            `ic:"current_balance"`
	Measurements           []CycleMeasurement `ic:"measurements"`
	UsageLast15Min         *idl.Nat           `ic:"usage_last_15min"`
	UsageRatePerHour       *float64           `ic:"usage_rate_per_hour"`
	EstimatedRemainingTime *string            `ic:"estimated_remaining_time"`
}

// Miner is a ready-made miner canister. Its values can be changed while it serves.
type Miner struct {
	mu    sync.Mutex
	info  MinerInfo
	stats *MiningStats
	usage CycleUsage
	err   string
}

// NewMiner returns a miner reporting info, no stats yet, and the given cycle usage.
func NewMiner(info MinerInfo, usage CycleUsage) *Miner {
	return &Miner{info: info, usage: usage}
}

// SetInfo replaces what get_info reports.
func (m *Miner) SetInfo(info MinerInfo) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.info = info
}

// SetErr makes get_info answer Err(msg); "" returns to Ok.
func (m *Miner) SetErr(msg string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.err = msg
}

// SetStats replaces what get_mining_stats reports; nil is "opt null" (not mining yet).
func (m *Miner) SetStats(s *MiningStats) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stats = s
}

// SetCycleUsage replaces what get_cycle_usage reports.
func (m *Miner) SetCycleUsage(u CycleUsage) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.usage = u
}

// Install adds get_info, get_mining_stats, get_cycle_usage and get_canister_id to c. Remove
// "get_cycle_usage" to mimic an older miner.
func (m *Miner) Install(c *Canister) {
	c.Handle("get_info", func([]byte) ([]any, error) {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.err != "" {
			return []any{result[MinerInfo]{Err: &m.err}}, nil
		}
		info := m.info
		return []any{result[MinerInfo]{Ok: &info}}, nil
	})
	c.Handle("get_mining_stats", func([]byte) ([]any, error) {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.stats == nil {
			return []any{(*MiningStats)(nil)}, nil
		}
		s := *m.stats
		return []any{&s}, nil
	})
	c.Handle("get_cycle_usage", func([]byte) ([]any, error) {
		m.mu.Lock()
		defer m.mu.Unlock()
		u := m.usage
		if u.Measurements == nil {
			u.Measurements = []CycleMeasurement{}
		}
		if u.CurrentBalance.BigInt() == nil {
			u.CurrentBalance = idl.NewNat(uint8(0))
		}
		return []any{u}, nil
	})
	c.Reply("get_canister_id", c.ID())
}

// Program is anything that installs methods on a canister (Ledger, PoWToken, Miner).
type Program interface {
	Install(c *Canister)
}

// Install installs each program on c and returns c.
func (c *Canister) Install(programs ...Program) *Canister {
	for _, p := range programs {
		p.Install(c)
	}
	return c
}
