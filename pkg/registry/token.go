package registry

import (
	"strings"
	"time"
)

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
	Fee                string     // nat, decimal
	TotalSupply        string     // nat, decimal
	MintingAccount     string     // principal text of the owner, "" if none
	SupportedStandards []Standard // icrc10_supported_standards, or icrc1_supported_standards
	// IndexID is the ledger's index canister (ICRC-106 icrc106_get_index_principal); "" if none.
	IndexID  string
	Metadata map[string]any // icrc1_metadata: nat/int as decimal strings, blobs as base64

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

// Standards a ledger can declare that the registry turns into badges.
const (
	StandardICRC2   = "ICRC-2"   // approve and transfer_from
	StandardICRC3   = "ICRC-3"   // a certified block log
	StandardICRC152 = "ICRC-152" // privileged mint and burn
	StandardICRC153 = "ICRC-153" // privileged freeze and unfreeze
	StandardICRC154 = "ICRC-154" // privileged pause, unpause and deactivate
)

// Supports reports whether the ledger declares standard name (as ICRC-10 names it, "ICRC-2").
func (t *TokenInfo) Supports(name string) bool {
	for _, s := range t.SupportedStandards {
		if strings.EqualFold(s.Name, name) {
			return true
		}
	}
	return false
}

// Privileged reports whether the ledger declares rights over holders' funds or the ledger:
// mint/burn (ICRC-152), freeze (ICRC-153) or pause (ICRC-154).
func (t *TokenInfo) Privileged() bool {
	return t.Supports(StandardICRC152) || t.Supports(StandardICRC153) || t.Supports(StandardICRC154)
}
