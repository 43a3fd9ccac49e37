package registry

import "time"

// Interfaces a token canister can implement; TokenInfo.Interfaces lists those found.
const (
	InterfaceICRC1  = "icrc1"  // the ICRC-1 ledger methods answer on the canister itself
	InterfacePoW    = "pow"    // get_all_info / get_info of a PoW token canister
	InterfaceLedger = "ledger" // ICRC-1 metadata was read from the PoW token's separate ledger
)

// MaxLogoBytes caps a stored logo; a larger one is dropped and LogoDropped set.
const MaxLogoBytes = 256 << 10

// Standard is an entry of icrc1_supported_standards.
type Standard struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

// SocialLink is a PoW token's link.
type SocialLink struct {
	Platform string `json:"platform"`
	URL      string `json:"url"`
}

// TokenInfo is what the poller read from a token canister. Unbounded Candid nat values are kept
// as exact decimal strings.
type TokenInfo struct {
	CanisterID CanisterID
	Interfaces []string

	Name               string
	Symbol             string
	Decimals           uint8
	Fee                string // nat, decimal
	TotalSupply        string // nat, decimal
	MintingAccount     string // principal text of the owner, "" if none
	SupportedStandards []Standard
	Metadata           map[string]any // icrc1_metadata: nat/int as decimal strings, blobs as base64

	Logo          []byte // raw bytes (decoded from a data URL) or nil
	LogoMediaType string // e.g. image/png; "" if none
	LogoURL       string // when icrc1:logo is a plain URL rather than a data URL
	LogoDropped   bool   // the logo was larger than MaxLogoBytes or not an image

	// PoW token fields, present when InterfacePoW is found.
	LedgerID              string
	BlockHeight           string
	BlockReward           string
	CirculatingSupply     string
	AverageBlockTime      *float64
	MiningProgressPercent string
	SocialLinks           []SocialLink

	UpdatedAt time.Time
}

// Has reports whether interface name was found.
func (t *TokenInfo) Has(name string) bool {
	for _, i := range t.Interfaces {
		if i == name {
			return true
		}
	}
	return false
}
