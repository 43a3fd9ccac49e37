package ic

import (
	"encoding/base64"

	"github.com/aviate-labs/agent-go/candid/idl"
	"github.com/aviate-labs/agent-go/principal"
)

// Go shapes of the Candid interfaces in CANISTERS.md. Records decode by field-name hash:
// fields the canister sends but these structs lack are ignored, fields these structs have but
// the canister omits stay zero. Unbounded nat is idl.Nat; nat64 fields that canistry stores as
// strings are decoded as idl.Nat too, so a canister that widens nat64 to nat still decodes.

type account struct {
	Owner      principal.Principal `ic:"owner"`
	Subaccount *[]byte             `ic:"subaccount"`
}

type metadataValue struct {
	Nat  *idl.Nat `ic:"Nat,variant"`
	Int  *idl.Int `ic:"Int,variant"`
	Text *string  `ic:"Text,variant"`
	Blob *[]byte  `ic:"Blob,variant"`
}

type metadataEntry struct {
	Key   string        `ic:"0,tuple"`
	Value metadataValue `ic:"1,tuple"`
}

type standard struct {
	Name string `ic:"name"`
	URL  string `ic:"url"`
}

type socialLink struct {
	URL      string `ic:"url"`
	Platform string `ic:"platform"`
}

// powTokenInfo decodes both TokenInfo (get_info) and TokenAllInfo (get_all_info): the extra
// fields of the latter are optional here, and its own id may be called principal or
// canister_id.
type powTokenInfo struct {
	Name                     string               `ic:"name"`
	Ticker                   string               `ic:"ticker"`
	TotalSupply              idl.Nat              `ic:"total_supply"`
	LedgerID                 *principal.Principal `ic:"ledger_id"`
	Logo                     *string              `ic:"logo"`
	Decimals                 uint8                `ic:"decimals"`
	TransferFee              idl.Nat              `ic:"transfer_fee"`
	SocialLinks              *[]socialLink        `ic:"social_links"`
	AverageBlockTime         *float64             `ic:"average_block_time"`
	CirculatingSupply        idl.Nat              `ic:"circulating_supply"`
	MiningProgressPercentage string               `ic:"mining_progress_percentage"`
	CurrentBlockReward       idl.Nat              `ic:"current_block_reward"`
	CurrentBlockHeight       idl.Nat              `ic:"current_block_height"`
}

type powTokenResult struct {
	Ok  *powTokenInfo `ic:"Ok,variant"`
	Err *string       `ic:"Err,variant"`
}

type minerInfo struct {
	CurrentToken     *principal.Principal `ic:"current_token"`
	IsMining         bool                 `ic:"is_mining"`
	SpeedPercentage  uint8                `ic:"speed_percentage"`
	ChunksPerRefresh uint64               `ic:"chunks_per_refresh"`
	ChunkSize        uint64               `ic:"chunk_size"`
	ICRCVersion      uint8                `ic:"icrc_version"`
}

type minerInfoResult struct {
	Ok  *minerInfo `ic:"Ok,variant"`
	Err *string    `ic:"Err,variant"`
}

type miningStats struct {
	BlocksMined        uint64  `ic:"blocks_mined"`
	TotalHashes        uint64  `ic:"total_hashes"`
	StartTime          uint64  `ic:"start_time"`
	LastHashRate       float64 `ic:"last_hash_rate"`
	TotalRewards       uint64  `ic:"total_rewards"`
	ChunksSinceRefresh uint64  `ic:"chunks_since_refresh"`
}

type cycleUsage struct {
	CurrentBalance         idl.Nat  `ic:"current_balance"`
	UsageLast15Min         *idl.Nat `ic:"usage_last_15min"`
	UsageRatePerHour       *float64 `ic:"usage_rate_per_hour"`
	EstimatedRemainingTime *string  `ic:"estimated_remaining_time"`
}

// natString is the exact decimal form of n; "" when the field was absent.
func natString(n idl.Nat) string {
	if n.BigInt() == nil {
		return ""
	}
	return n.BigInt().String()
}

// metadataJSON converts a metadata value to a JSON-friendly one: nat and int as decimal
// strings, blobs as base64.
func metadataJSON(v metadataValue) any {
	switch {
	case v.Nat != nil:
		return natString(*v.Nat)
	case v.Int != nil && v.Int.BigInt() != nil:
		return v.Int.BigInt().String()
	case v.Text != nil:
		return *v.Text
	case v.Blob != nil:
		return base64.StdEncoding.EncodeToString(*v.Blob)
	}
	return nil
}
