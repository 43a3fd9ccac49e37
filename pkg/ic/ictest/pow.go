package ictest

import (
	"sync"

	"github.com/aviate-labs/agent-go/principal"
)

// result is a Candid variant { Ok : T; Err : text }.
type result[T any] struct {
	Ok  *T      `ic:"Ok,variant"`
	Err *string `ic:"Err,variant"`
}

// SocialLink is a PoW token's link: record { url : text; platform : text }.
type SocialLink struct {
	URL      string `ic:"url"`
	Platform string `ic:"platform"`
}

// PoWTokenInfo is what a PoW token canister reports through get_info and get_all_info.
type PoWTokenInfo struct {
	Name                     string
	Ticker                   string
	TotalSupply              uint64
	LedgerID                 *principal.Principal
	Logo                     *string
	Decimals                 uint8
	TransferFee              uint64
	SocialLinks              *[]SocialLink
	AverageBlockTime         *float64
	FormattedBlockTime       *string
	BlockTimeRating          *string
	CirculatingSupply        uint64
	MiningProgressPercentage string
	CurrentBlockReward       uint64
	FormattedBlockReward     string
	CurrentBlockHeight       uint64
}

// archiveOptions is the field get_info carries but canistry does not read.
type archiveOptions struct {
	NumBlocksToArchive uint64              `ic:"num_blocks_to_archive"`
	TriggerThreshold   uint64              `ic:"trigger_threshold"`
	ControllerID       principal.Principal `ic:"controller_id"`
}

type tokenInfoWire struct {
	Name           string               `ic:"name"`
	Ticker         string               `ic:"ticker"`
	TotalSupply    uint64               `ic:"total_supply"`
	LedgerID       *principal.Principal `ic:"ledger_id"`
	Logo           *string              `ic:"logo"`
	Decimals       uint8                `ic:"decimals"`
	TransferFee    uint64               `ic:"transfer_fee"`
	SocialLinks    *[]SocialLink        `ic:"social_links"`
	ArchiveOptions *archiveOptions      `ic:"archive_options"`
}

// The two deployed versions of TokenAllInfo differ only in the name of the canister's own id:
// "principal" or "canister_id". candid.Marshal encodes exported fields only and does not flatten
// embedded structs, so each version lists its fields in full.
type allInfoPrincipal struct {
	Name                     string               `ic:"name"`
	Ticker                   string               `ic:"ticker"`
	TotalSupply              uint64               `ic:"total_supply"`
	LedgerID                 *principal.Principal `ic:"ledger_id"`
	Logo                     *string              `ic:"logo"`
	Decimals                 uint8                `ic:"decimals"`
	TransferFee              uint64               `ic:"transfer_fee"`
	SocialLinks              *[]SocialLink        `ic:"social_links"`
	AverageBlockTime         *float64             `ic:"average_block_time"`
	FormattedBlockTime       *string              `ic:"formatted_block_time"`
	BlockTimeRating          *string              `ic:"block_time_rating"`
	CirculatingSupply        uint64               `ic:"circulating_supply"`
	MiningProgressPercentage string               `ic:"mining_progress_percentage"`
	CurrentBlockReward       uint64               `ic:"current_block_reward"`
	FormattedBlockReward     string               `ic:"formatted_block_reward"`
	CurrentBlockHeight       uint64               `ic:"current_block_height"`
	ID                       principal.Principal  `ic:"principal"`
}

type allInfoCanisterID struct {
	Name                     string               `ic:"name"`
	Ticker                   string               `ic:"ticker"`
	TotalSupply              uint64               `ic:"total_supply"`
	LedgerID                 *principal.Principal `ic:"ledger_id"`
	Logo                     *string              `ic:"logo"`
	Decimals                 uint8                `ic:"decimals"`
	TransferFee              uint64               `ic:"transfer_fee"`
	SocialLinks              *[]SocialLink        `ic:"social_links"`
	AverageBlockTime         *float64             `ic:"average_block_time"`
	FormattedBlockTime       *string              `ic:"formatted_block_time"`
	BlockTimeRating          *string              `ic:"block_time_rating"`
	CirculatingSupply        uint64               `ic:"circulating_supply"`
	MiningProgressPercentage string               `ic:"mining_progress_percentage"`
	CurrentBlockReward       uint64               `ic:"current_block_reward"`
	FormattedBlockReward     string               `ic:"formatted_block_reward"`
	CurrentBlockHeight       uint64               `ic:"current_block_height"`
	ID                       principal.Principal  `ic:"canister_id"`
}

// PoWToken is a ready-made PoW token canister. Its values can be changed while it serves.
type PoWToken struct {
	mu              sync.Mutex
	info            PoWTokenInfo
	err             string
	canisterIDField bool
}

// NewPoWToken returns a token reporting info; get_all_info names its own id "principal".
func NewPoWToken(info PoWTokenInfo) *PoWToken { return &PoWToken{info: info} }

// SetInfo replaces what the token reports.
func (t *PoWToken) SetInfo(info PoWTokenInfo) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.info = info
}

// SetErr makes get_info and get_all_info answer Err(msg); "" returns to Ok.
func (t *PoWToken) SetErr(msg string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.err = msg
}

// UseCanisterIDField switches get_all_info to the version whose own-id field is "canister_id".
func (t *PoWToken) UseCanisterIDField(on bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.canisterIDField = on
}

// Install adds get_info and get_all_info to c. Remove "get_all_info" to mimic an old version.
func (t *PoWToken) Install(c *Canister) {
	c.Handle("get_info", func([]byte) ([]any, error) {
		t.mu.Lock()
		defer t.mu.Unlock()
		if t.err != "" {
			return []any{result[tokenInfoWire]{Err: &t.err}}, nil
		}
		i := t.info
		w := tokenInfoWire{Name: i.Name, Ticker: i.Ticker, TotalSupply: i.TotalSupply, LedgerID: i.LedgerID,
			Logo: i.Logo, Decimals: i.Decimals, TransferFee: i.TransferFee, SocialLinks: i.SocialLinks,
			ArchiveOptions: &archiveOptions{NumBlocksToArchive: 1000, TriggerThreshold: 2000, ControllerID: c.ID()}}
		return []any{result[tokenInfoWire]{Ok: &w}}, nil
	})
	c.Handle("get_all_info", func([]byte) ([]any, error) {
		t.mu.Lock()
		defer t.mu.Unlock()
		if t.err != "" {
			return []any{result[allInfoPrincipal]{Err: &t.err}}, nil
		}
		i := t.info
		p := allInfoPrincipal{Name: i.Name, Ticker: i.Ticker, TotalSupply: i.TotalSupply, LedgerID: i.LedgerID,
			Logo: i.Logo, Decimals: i.Decimals, TransferFee: i.TransferFee, SocialLinks: i.SocialLinks,
			AverageBlockTime: i.AverageBlockTime, FormattedBlockTime: i.FormattedBlockTime,
			BlockTimeRating: i.BlockTimeRating, CirculatingSupply: i.CirculatingSupply,
			MiningProgressPercentage: i.MiningProgressPercentage, CurrentBlockReward: i.CurrentBlockReward,
			FormattedBlockReward: i.FormattedBlockReward, CurrentBlockHeight: i.CurrentBlockHeight,
			ID: c.ID()}
		if t.canisterIDField {
			cid := allInfoCanisterID(p) // struct tags do not matter to conversion
			return []any{result[allInfoCanisterID]{Ok: &cid}}, nil
		}
		return []any{result[allInfoPrincipal]{Ok: &p}}, nil
	})
}
