package store

import (
	"encoding/json"

	"canistry/pkg/registry"
)

// Row types mirror the tables of migrations/; gorm tags stay here, out of registry. gorm maps
// them for INSERT (tx.Create); reads scan them by hand (doc.go). Times are Unix milliseconds.

type canisterRow struct {
	PK                  int64 `gorm:"column:pk;primaryKey;autoIncrement"`
	CanisterID          string
	Kind                string
	Name                string
	Description         string
	Tags                string
	ModuleHash          string
	Controllers         string
	CreatedAt           int64 `gorm:"autoCreateTime:false"`
	UpdatedAt           int64 `gorm:"autoUpdateTime:false"`
	LastAttemptAt       *int64
	LastSuccessAt       *int64
	LastError           string
	ConsecutiveFailures int
	NextAttemptAt       int64
}

func (canisterRow) TableName() string { return "canisters" }

func toCanisterRow(c *registry.Canister) canisterRow {
	return canisterRow{
		CanisterID:          string(c.ID),
		Kind:                string(c.Kind),
		Name:                c.Name,
		Description:         c.Description,
		Tags:                jsonList(c.Tags),
		ModuleHash:          c.ModuleHash,
		Controllers:         jsonList(c.Controllers),
		CreatedAt:           ms(c.CreatedAt),
		UpdatedAt:           ms(c.UpdatedAt),
		LastAttemptAt:       msPtr(c.Refresh.LastAttemptAt),
		LastSuccessAt:       msPtr(c.Refresh.LastSuccessAt),
		LastError:           c.Refresh.LastError,
		ConsecutiveFailures: c.Refresh.ConsecutiveFailures,
		NextAttemptAt:       ms(c.Refresh.NextAttemptAt),
	}
}

type tokenRow struct {
	CanisterID         string `gorm:"primaryKey"`
	Interfaces         string
	Name               string
	Symbol             string
	Decimals           int
	Fee                string
	TotalSupply        string
	MintingAccount     string
	SupportedStandards string
	IndexID            string
	Metadata           string
	LogoMediaType      string
	LogoURL            string
	LogoDropped        bool
	LedgerID           string
	BlockHeight        string
	BlockReward        string
	CirculatingSupply  string
	AverageBlockTime   *float64
	MiningProgress     string
	SocialLinks        string
	Raw                string
	UpdatedAt          int64 `gorm:"autoUpdateTime:false"`
}

func (tokenRow) TableName() string { return "tokens" }

func toTokenRow(t *registry.TokenInfo) tokenRow {
	return tokenRow{
		CanisterID:         string(t.CanisterID),
		Interfaces:         jsonList(t.Interfaces),
		Name:               t.Name,
		Symbol:             t.Symbol,
		Decimals:           int(t.Decimals),
		Fee:                t.Fee,
		TotalSupply:        t.TotalSupply,
		MintingAccount:     t.MintingAccount,
		SupportedStandards: jsonValue(t.SupportedStandards, "[]"),
		IndexID:            t.IndexID,
		Metadata:           jsonValue(t.Metadata, "{}"),
		LogoMediaType:      t.LogoMediaType,
		LogoURL:            t.LogoURL,
		LogoDropped:        t.LogoDropped,
		LedgerID:           t.LedgerID,
		BlockHeight:        t.BlockHeight,
		BlockReward:        t.BlockReward,
		CirculatingSupply:  t.CirculatingSupply,
		AverageBlockTime:   t.AverageBlockTime,
		MiningProgress:     t.MiningProgressPercent,
		SocialLinks:        jsonValue(t.SocialLinks, "[]"),
		Raw:                "{}",
		UpdatedAt:          ms(t.UpdatedAt),
	}
}

func (r *tokenRow) toToken() registry.TokenInfo {
	t := registry.TokenInfo{
		CanisterID:            registry.CanisterID(r.CanisterID),
		Interfaces:            parseList(r.Interfaces),
		Name:                  r.Name,
		Symbol:                r.Symbol,
		Decimals:              uint8(r.Decimals),
		Fee:                   r.Fee,
		TotalSupply:           r.TotalSupply,
		MintingAccount:        r.MintingAccount,
		IndexID:               r.IndexID,
		LogoMediaType:         r.LogoMediaType,
		LogoURL:               r.LogoURL,
		LogoDropped:           r.LogoDropped,
		LedgerID:              r.LedgerID,
		BlockHeight:           r.BlockHeight,
		BlockReward:           r.BlockReward,
		CirculatingSupply:     r.CirculatingSupply,
		AverageBlockTime:      r.AverageBlockTime,
		MiningProgressPercent: r.MiningProgress,
		UpdatedAt:             fromMs(r.UpdatedAt),
	}
	_ = json.Unmarshal([]byte(r.SupportedStandards), &t.SupportedStandards)
	_ = json.Unmarshal([]byte(r.Metadata), &t.Metadata)
	_ = json.Unmarshal([]byte(r.SocialLinks), &t.SocialLinks)
	return t
}

type tokenLogoRow struct {
	CanisterID string `gorm:"primaryKey"`
	MediaType  string
	Data       []byte
	SHA256     string `gorm:"column:sha256"`
	UpdatedAt  int64  `gorm:"autoUpdateTime:false"`
}

func (tokenLogoRow) TableName() string { return "token_logos" }

type minerRow struct {
	CanisterID          string `gorm:"primaryKey"`
	CurrentToken        string
	IsMining            bool
	SpeedPercentage     int
	ChunkSize           int64
	ChunksPerRefresh    int64
	ICRCVersion         int `gorm:"column:icrc_version"`
	SupportsStats       bool
	SupportsCycleUsage  bool
	CycleBalance        string
	CycleUsagePerHour   *float64
	CycleUsageLast15Min string `gorm:"column:cycle_usage_last_15min"`
	EstimatedRemaining  string
	UpdatedAt           int64 `gorm:"autoUpdateTime:false"`
}

func (minerRow) TableName() string { return "miners" }

func toMinerRow(m *registry.MinerInfo) minerRow {
	return minerRow{
		CanisterID:          string(m.CanisterID),
		CurrentToken:        m.CurrentToken,
		IsMining:            m.IsMining,
		SpeedPercentage:     int(m.SpeedPercentage),
		ChunkSize:           int64(m.ChunkSize),
		ChunksPerRefresh:    int64(m.ChunksPerRefresh),
		ICRCVersion:         int(m.ICRCVersion),
		SupportsStats:       m.SupportsStats,
		SupportsCycleUsage:  m.SupportsCycleUsage,
		CycleBalance:        m.CycleBalance,
		CycleUsagePerHour:   m.CycleUsagePerHour,
		CycleUsageLast15Min: m.CycleUsageLast15Min,
		EstimatedRemaining:  m.EstimatedRemainingTime,
		UpdatedAt:           ms(m.UpdatedAt),
	}
}

func (r *minerRow) toMiner() registry.MinerInfo {
	return registry.MinerInfo{
		CanisterID:             registry.CanisterID(r.CanisterID),
		CurrentToken:           r.CurrentToken,
		IsMining:               r.IsMining,
		SpeedPercentage:        uint8(r.SpeedPercentage),
		ChunkSize:              uint64(r.ChunkSize),
		ChunksPerRefresh:       uint64(r.ChunksPerRefresh),
		ICRCVersion:            uint8(r.ICRCVersion),
		SupportsStats:          r.SupportsStats,
		SupportsCycleUsage:     r.SupportsCycleUsage,
		CycleBalance:           r.CycleBalance,
		CycleUsagePerHour:      r.CycleUsagePerHour,
		CycleUsageLast15Min:    r.CycleUsageLast15Min,
		EstimatedRemainingTime: r.EstimatedRemaining,
		UpdatedAt:              fromMs(r.UpdatedAt),
	}
}

// minerStatsRow stores nat64 counters in SQLite's signed INTEGER; values above 2^63-1 are
// refused by checkInt64 rather than silently wrapped.
type minerStatsRow struct {
	ID                 int64 `gorm:"primaryKey;autoIncrement"`
	CanisterID         string
	ObservedAt         int64
	BlocksMined        int64
	TotalHashes        int64
	HashRate           float64
	TotalRewards       int64
	ChunksSinceRefresh int64
	StartTime          int64
}

func (minerStatsRow) TableName() string { return "miner_stats" }

func toMinerStatsRow(s *registry.MinerStats) (minerStatsRow, error) {
	for _, v := range []uint64{s.BlocksMined, s.TotalHashes, s.TotalRewards, s.ChunksSinceRefresh, s.StartTime} {
		if v > 1<<63-1 {
			return minerStatsRow{}, registry.Errorf(registry.EINVALID, "miner stats value %d exceeds the storable range", v)
		}
	}
	return minerStatsRow{
		CanisterID:         string(s.CanisterID),
		ObservedAt:         ms(s.ObservedAt),
		BlocksMined:        int64(s.BlocksMined),
		TotalHashes:        int64(s.TotalHashes),
		HashRate:           s.HashRate,
		TotalRewards:       int64(s.TotalRewards),
		ChunksSinceRefresh: int64(s.ChunksSinceRefresh),
		StartTime:          int64(s.StartTime),
	}, nil
}

func (r *minerStatsRow) toMinerStats() registry.MinerStats {
	return registry.MinerStats{
		CanisterID:         registry.CanisterID(r.CanisterID),
		ObservedAt:         fromMs(r.ObservedAt),
		BlocksMined:        uint64(r.BlocksMined),
		TotalHashes:        uint64(r.TotalHashes),
		HashRate:           r.HashRate,
		TotalRewards:       uint64(r.TotalRewards),
		ChunksSinceRefresh: uint64(r.ChunksSinceRefresh),
		StartTime:          uint64(r.StartTime),
	}
}

type balanceRow struct {
	WalletID  string `gorm:"primaryKey"`
	LedgerID  string `gorm:"primaryKey"`
	Amount    string
	UpdatedAt int64 `gorm:"autoUpdateTime:false"`
}

func (balanceRow) TableName() string { return "wallet_balances" }

func toBalanceRow(b *registry.Balance) balanceRow {
	return balanceRow{WalletID: string(b.Wallet), LedgerID: string(b.Ledger), Amount: b.Amount, UpdatedAt: ms(b.UpdatedAt)}
}

func (r *balanceRow) toBalance() registry.Balance {
	return registry.Balance{Wallet: registry.CanisterID(r.WalletID), Ledger: registry.CanisterID(r.LedgerID),
		Amount: r.Amount, UpdatedAt: fromMs(r.UpdatedAt)}
}

type moduleHashRow struct {
	Hash      string `gorm:"primaryKey"`
	Name      string
	Version   string
	Kind      string
	SourceURL string `gorm:"column:source_url"`
	Notes     string
	CreatedAt int64 `gorm:"autoCreateTime:false"`
}

func (moduleHashRow) TableName() string { return "module_hashes" }

func toModuleHashRow(m *registry.ModuleHash) moduleHashRow {
	return moduleHashRow{Hash: m.Hash, Name: m.Name, Version: m.Version, Kind: string(m.Kind),
		SourceURL: m.SourceURL, Notes: m.Notes, CreatedAt: ms(m.CreatedAt)}
}

func (r *moduleHashRow) toModuleHash() registry.ModuleHash {
	return registry.ModuleHash{Hash: r.Hash, Name: r.Name, Version: r.Version, Kind: registry.Kind(r.Kind),
		SourceURL: r.SourceURL, Notes: r.Notes, CreatedAt: fromMs(r.CreatedAt)}
}

type changeRow struct {
	ID         int64 `gorm:"primaryKey;autoIncrement"`
	CanisterID string
	Field      string
	OldValue   string
	NewValue   string
	ObservedAt int64
}

func (changeRow) TableName() string { return "module_hash_changes" }

func toChangeRow(c *registry.Change) changeRow {
	return changeRow{CanisterID: string(c.CanisterID), Field: c.Field, OldValue: c.Old, NewValue: c.New, ObservedAt: ms(c.ObservedAt)}
}

func (r *changeRow) toChange() registry.Change {
	return registry.Change{ID: r.ID, CanisterID: registry.CanisterID(r.CanisterID), Field: r.Field,
		Old: r.OldValue, New: r.NewValue, ObservedAt: fromMs(r.ObservedAt)}
}

type notificationRow struct {
	ID             int64 `gorm:"primaryKey;autoIncrement"`
	DedupKey       string
	MinerID        string
	Event          string
	ICTimestamp    int64 `gorm:"column:ic_timestamp"`
	Data           string
	BodyHash       string
	ReceivedAt     int64
	Copies         int
	Diverged       bool
	ResponseStatus int
	ResponseBody   []byte
}

func (notificationRow) TableName() string { return "notifications" }

func toNotificationRow(n *registry.Notification) notificationRow {
	data := string(n.Data)
	if data == "" {
		data = "{}"
	}
	return notificationRow{ID: n.ID, DedupKey: n.DedupKey, MinerID: n.MinerID, Event: n.Event,
		ICTimestamp: int64(n.ICTimestamp), Data: data, BodyHash: n.BodyHash, ReceivedAt: ms(n.ReceivedAt),
		Copies: n.Copies, Diverged: n.Diverged, ResponseStatus: n.ResponseStatus, ResponseBody: n.ResponseBody}
}

func (r *notificationRow) toNotification() registry.Notification {
	return registry.Notification{ID: r.ID, DedupKey: r.DedupKey, MinerID: r.MinerID, Event: r.Event,
		ICTimestamp: uint64(r.ICTimestamp), Data: json.RawMessage(r.Data), BodyHash: r.BodyHash,
		ReceivedAt: fromMs(r.ReceivedAt), Copies: r.Copies, Diverged: r.Diverged,
		ResponseStatus: r.ResponseStatus, ResponseBody: r.ResponseBody}
}

type claimRow struct {
	DedupKey       string `gorm:"primaryKey"`
	NotificationID int64
	ExpiresAt      int64
}

func (claimRow) TableName() string { return "notification_claims" }

func jsonList(v []string) string {
	if len(v) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func parseList(s string) []string {
	var out []string
	_ = json.Unmarshal([]byte(s), &out)
	if out == nil {
		out = []string{}
	}
	return out
}

func jsonValue(v any, empty string) string {
	b, err := json.Marshal(v)
	if err != nil || string(b) == "null" {
		return empty
	}
	return string(b)
}
