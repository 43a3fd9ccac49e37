package httpapi

import (
	"strconv"
	"strings"
	"time"

	"canistry/pkg/registry"
)

// The JSON shapes of the registry API (described in openapi.json). Times are RFC 3339 in UTC,
// formatted here into strings (a time.Time field would cost encoding/json a MarshalJSON call and
// a re-scan of its output for each of them, a visible share of a 500-row page);
// ICRC nat values and nat64 counters are decimal strings, since JSON numbers lose precision
// past 2^53; unknown values are null rather than "" or 0.

// refreshJSON is the refresh state every canister, token and miner carries.
type refreshJSON struct {
	LastAttemptAt       *string `json:"last_attempt_at"`
	LastSuccessAt       *string `json:"last_success_at"`
	LastError           *string `json:"last_error"`
	ConsecutiveFailures int     `json:"consecutive_failures"`
	Stale               bool    `json:"stale"`
}

func toRefreshJSON(r registry.RefreshState, staleBefore time.Time) refreshJSON {
	return refreshJSON{LastAttemptAt: optTime(r.LastAttemptAt), LastSuccessAt: optTime(r.LastSuccessAt), LastError: optString(r.LastError),
		ConsecutiveFailures: r.ConsecutiveFailures, Stale: r.LastSuccessAt == nil || r.LastSuccessAt.Before(staleBefore)}
}

type buildJSON struct {
	Name      string  `json:"name"`
	Version   string  `json:"version"`
	Kind      *string `json:"kind"`
	SourceURL *string `json:"source_url"`
}

type canisterJSON struct {
	CanisterID  string     `json:"canister_id"`
	Kind        string     `json:"kind"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Tags        []string   `json:"tags"`
	ModuleHash  *string    `json:"module_hash"`
	Controllers []string   `json:"controllers"`
	Verified    bool       `json:"verified"`
	Build       *buildJSON `json:"build"`
	CreatedAt   string     `json:"created_at"`
	UpdatedAt   string     `json:"updated_at"`
	// CanisterCreatedAt and LastInstalledAt are what the IC certifies (interface spec 0.66.0),
	// null where it does not; CreatedAt is when the canister was registered here.
	CanisterCreatedAt *string `json:"canister_created_at"`
	LastInstalledAt   *string `json:"last_installed_at"`
	refreshJSON
	badgesJSON
}

func toCanisterJSON(r *registry.CanisterRecord, staleBefore time.Time) canisterJSON {
	out := canisterJSON{CanisterID: string(r.ID), Kind: string(r.Kind), Name: r.Name, Description: r.Description,
		Tags: nonNil(r.Tags), ModuleHash: optString(r.ModuleHash), Controllers: nonNil(r.Controllers),
		Verified: r.Verified(), CreatedAt: rfc3339(r.CreatedAt), UpdatedAt: rfc3339(r.UpdatedAt),
		CanisterCreatedAt: optTime(r.CanisterCreatedAt), LastInstalledAt: optTime(r.LastInstalledAt),
		refreshJSON: toRefreshJSON(r.Refresh, staleBefore), badgesJSON: badgesJSON{Badges: []string{}}}
	if b := r.Build; b != nil {
		out.Build = &buildJSON{Name: b.Name, Version: b.Version, Kind: optString(string(b.Kind)), SourceURL: optString(b.SourceURL)}
	}
	return out
}

type powJSON struct {
	LedgerID              *string               `json:"ledger_id"`
	BlockHeight           *string               `json:"block_height"`
	BlockReward           *string               `json:"block_reward"`
	CirculatingSupply     *string               `json:"circulating_supply"`
	AverageBlockTime      *float64              `json:"average_block_time"`
	MiningProgressPercent *string               `json:"mining_progress_percent"`
	SocialLinks           []registry.SocialLink `json:"social_links"`
}

type tokenJSON struct {
	CanisterID         string              `json:"canister_id"`
	RegisteredName     string              `json:"registered_name"`
	Interfaces         []string            `json:"interfaces"`
	Name               string              `json:"name"`
	Symbol             string              `json:"symbol"`
	Decimals           int                 `json:"decimals"`
	Fee                *string             `json:"fee"`
	TotalSupply        *string             `json:"total_supply"`
	MintingAccount     *string             `json:"minting_account"`
	SupportedStandards []registry.Standard `json:"supported_standards"`
	IndexID            *string             `json:"index_id"`
	BlockLog           bool                `json:"block_log"`
	Metadata           map[string]any      `json:"metadata"`
	Logo               *string             `json:"logo"`
	LogoURL            *string             `json:"logo_url"`
	LogoDropped        bool                `json:"logo_dropped"`
	PoW                *powJSON            `json:"pow"`
	UpdatedAt          string              `json:"updated_at"`
	refreshJSON
}

func toTokenJSON(t *registry.TokenRecord, staleBefore time.Time) tokenJSON {
	out := tokenJSON{CanisterID: string(t.CanisterID), RegisteredName: t.RegisteredAs, Interfaces: nonNil(t.Interfaces),
		Name: t.Name, Symbol: t.Symbol, Decimals: int(t.Decimals), Fee: optString(t.Fee),
		TotalSupply: optString(t.TotalSupply), MintingAccount: optString(t.MintingAccount),
		SupportedStandards: t.SupportedStandards, IndexID: optString(t.IndexID), BlockLog: t.Supports(registry.StandardICRC3),
		Metadata: t.Metadata, LogoURL: optString(t.LogoURL),
		LogoDropped: t.LogoDropped, UpdatedAt: rfc3339(t.UpdatedAt), refreshJSON: toRefreshJSON(t.Refresh, staleBefore)}
	if out.SupportedStandards == nil {
		out.SupportedStandards = []registry.Standard{}
	}
	if out.Metadata == nil {
		out.Metadata = map[string]any{}
	}
	if t.HasLogo {
		u := "/tokens/" + string(t.CanisterID) + "/logo"
		out.Logo = &u
	}
	if t.Has(registry.InterfacePoW) {
		out.PoW = &powJSON{LedgerID: optString(t.LedgerID), BlockHeight: optString(t.BlockHeight),
			BlockReward: optString(t.BlockReward), CirculatingSupply: optString(t.CirculatingSupply),
			AverageBlockTime: t.AverageBlockTime, MiningProgressPercent: optString(t.MiningProgressPercent),
			SocialLinks: t.SocialLinks}
		if out.PoW.SocialLinks == nil {
			out.PoW.SocialLinks = []registry.SocialLink{}
		}
	}
	return out
}

type minerJSON struct {
	CanisterID             string   `json:"canister_id"`
	RegisteredName         string   `json:"registered_name"`
	CurrentToken           *string  `json:"current_token"`
	IsMining               bool     `json:"is_mining"`
	SpeedPercentage        int      `json:"speed_percentage"`
	ChunkSize              string   `json:"chunk_size"`
	ChunksPerRefresh       string   `json:"chunks_per_refresh"`
	ICRCVersion            int      `json:"icrc_version"`
	SupportsStats          bool     `json:"supports_stats"`
	SupportsCycleUsage     bool     `json:"supports_cycle_usage"`
	CycleBalance           *string  `json:"cycle_balance"`
	CycleUsagePerHour      *float64 `json:"cycle_usage_per_hour"`
	CycleUsageLast15Min    *string  `json:"cycle_usage_last_15min"`
	EstimatedRemainingTime *string  `json:"estimated_remaining_time"`
	UpdatedAt              string   `json:"updated_at"`
	refreshJSON
}

func toMinerJSON(m *registry.MinerRecord, staleBefore time.Time) minerJSON {
	return minerJSON{CanisterID: string(m.CanisterID), RegisteredName: m.RegisteredAs, CurrentToken: optString(m.CurrentToken),
		IsMining: m.IsMining, SpeedPercentage: int(m.SpeedPercentage), ChunkSize: strconv.FormatUint(m.ChunkSize, 10),
		ChunksPerRefresh: strconv.FormatUint(m.ChunksPerRefresh, 10), ICRCVersion: int(m.ICRCVersion),
		SupportsStats: m.SupportsStats, SupportsCycleUsage: m.SupportsCycleUsage, CycleBalance: optString(m.CycleBalance),
		CycleUsagePerHour: m.CycleUsagePerHour, CycleUsageLast15Min: optString(m.CycleUsageLast15Min),
		EstimatedRemainingTime: optString(m.EstimatedRemainingTime), UpdatedAt: rfc3339(m.UpdatedAt),
		refreshJSON: toRefreshJSON(m.Refresh, staleBefore)}
}

type statsJSON struct {
	ObservedAt         string  `json:"observed_at"`
	BlocksMined        string  `json:"blocks_mined"`
	TotalHashes        string  `json:"total_hashes"`
	HashRate           float64 `json:"hash_rate"`
	TotalRewards       string  `json:"total_rewards"`
	ChunksSinceRefresh string  `json:"chunks_since_refresh"`
	StartTime          *string `json:"start_time"`
}

func toStatsJSON(s *registry.MinerStats) statsJSON {
	out := statsJSON{ObservedAt: rfc3339(s.ObservedAt), BlocksMined: strconv.FormatUint(s.BlocksMined, 10),
		TotalHashes: strconv.FormatUint(s.TotalHashes, 10), HashRate: s.HashRate,
		TotalRewards: strconv.FormatUint(s.TotalRewards, 10), ChunksSinceRefresh: strconv.FormatUint(s.ChunksSinceRefresh, 10)}
	if s.StartTime > 0 {
		t := rfc3339(time.Unix(0, int64(s.StartTime)))
		out.StartTime = &t
	}
	return out
}

type changeJSON struct {
	ID         int64  `json:"id"`
	CanisterID string `json:"canister_id"`
	Field      string `json:"field"`
	Old        any    `json:"old"`
	New        any    `json:"new"`
	ObservedAt string `json:"observed_at"`
}

// toChangeJSON renders a module hash change as hex strings (null for no module) and a
// controllers change as arrays of principals.
func toChangeJSON(c *registry.Change) changeJSON {
	out := changeJSON{ID: c.ID, CanisterID: string(c.CanisterID), Field: c.Field, ObservedAt: rfc3339(c.ObservedAt)}
	if c.Field == registry.ChangeControllers {
		out.Old, out.New = splitControllers(c.Old), splitControllers(c.New)
	} else {
		out.Old, out.New = optString(c.Old), optString(c.New)
	}
	return out
}

func splitControllers(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

type moduleHashJSON struct {
	Hash      string  `json:"hash"`
	Name      string  `json:"name"`
	Version   string  `json:"version"`
	Kind      *string `json:"kind"`
	SourceURL *string `json:"source_url"`
	Notes     string  `json:"notes"`
	CreatedAt string  `json:"created_at"`
	Canisters int64   `json:"canisters"`
}

func toModuleHashJSON(m *registry.ModuleHashRecord) moduleHashJSON {
	return moduleHashJSON{Hash: m.Hash, Name: m.Name, Version: m.Version, Kind: optString(string(m.Kind)),
		SourceURL: optString(m.SourceURL), Notes: m.Notes, CreatedAt: rfc3339(m.CreatedAt), Canisters: m.Canisters}
}

// listJSON is the envelope of every list.
type listJSON[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
	Total      *int64  `json:"total,omitempty"`
	Limit      int     `json:"limit"`
}

func newList[T, R any](items []R, next *registry.Cursor, total *int64, limit int, conv func(*R) T) listJSON[T] {
	out := listJSON[T]{Items: make([]T, len(items)), Total: total, Limit: limit}
	for i := range items {
		out.Items[i] = conv(&items[i])
	}
	if next != nil {
		s := next.String()
		out.NextCursor = &s
	}
	return out
}

// rfc3339 formats t in UTC as encoding/json would format a time.Time.
func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func optTime(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := rfc3339(*t)
	return &s
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
