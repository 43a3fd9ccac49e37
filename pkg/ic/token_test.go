package ic_test

import (
	"math/big"
	"slices"
	"testing"

	"canistry/pkg/ic/ictest"
	"canistry/pkg/registry"

	"github.com/aviate-labs/agent-go/candid/idl"
	"github.com/aviate-labs/agent-go/principal"
)

const above64 = "123000000000000000000000" // 1.23e23 > 2^64

func TestClient_Token(t *testing.T) {
	c, s := newClient(t)
	minter := canisterID(99)

	ledgerID := canisterID(1)
	ledger := ictest.NewLedger(ictest.LedgerInfo{
		Name: "Internet Computer", Symbol: "ICP", Decimals: 8,
		Fee: big.NewInt(10_000), TotalSupply: bigNat(t, above64),
		MintingAccount: &ictest.Account{Owner: minter},
		Standards:      []ictest.Standard{{Name: "ICRC-1", URL: "https://github.com/dfinity/ICRC-1"}},
		ExtraMetadata: []ictest.MetadataEntry{
			{Key: "vendor:big", Value: ictest.NatValue(bigNat(t, above64))},
			{Key: "vendor:neg", Value: ictest.IntValue(big.NewInt(-5))},
			{Key: "vendor:blob", Value: ictest.BlobValue([]byte{1, 2, 3})},
		},
	})
	s.AddCanister(ledgerID, hash32(1), minter).Install(ledger)

	// A ledger whose metadata lacks the standard keys: the icrc1_* methods fill them in.
	bareID := canisterID(2)
	bare := s.AddCanister(bareID, hash32(2))
	bare.Reply("icrc1_metadata", []ictest.MetadataEntry{})
	bare.Reply("icrc1_name", "Bare")
	bare.Reply("icrc1_symbol", "BAR")
	bare.Reply("icrc1_decimals", uint8(6))
	bare.Reply("icrc1_fee", idl.NewNat(uint8(7)))
	bare.Reply("icrc1_total_supply", idl.NewBigNat(bigNat(t, above64)))

	powLedgerID := canisterID(3)
	powLedger := ictest.NewLedger(ictest.LedgerInfo{Name: "Ledger name", Symbol: "LED", Decimals: 8,
		Fee: big.NewInt(1), Logo: "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="})
	s.AddCanister(powLedgerID, hash32(3)).Install(powLedger)
	powInfo := ictest.PoWTokenInfo{Name: "Pow Coin", Ticker: "POW", TotalSupply: 21_000_000, LedgerID: &powLedgerID,
		Decimals: 8, TransferFee: 10, CirculatingSupply: 1_000, CurrentBlockHeight: 42, CurrentBlockReward: 50,
		MiningProgressPercentage: "0.01%", AverageBlockTime: ptr(61.5),
		SocialLinks: &[]ictest.SocialLink{{URL: "https://x.com/pow", Platform: "x"}}}

	powID, powCIDID, oldPowID, errPowID := canisterID(4), canisterID(5), canisterID(6), canisterID(7)
	s.AddCanister(powID, hash32(4)).Install(ictest.NewPoWToken(powInfo))
	tok := ictest.NewPoWToken(powInfo)
	tok.UseCanisterIDField(true)
	s.AddCanister(powCIDID, hash32(5)).Install(tok)
	old := s.AddCanister(oldPowID, hash32(6)).Install(ictest.NewPoWToken(powInfo))
	old.Remove("get_all_info")
	errTok := ictest.NewPoWToken(powInfo)
	errTok.SetErr("not initialised")
	s.AddCanister(errPowID, hash32(7)).Install(errTok)

	noLedger := powInfo
	noLedger.LedgerID = nil
	noLedgerID := canisterID(8)
	s.AddCanister(noLedgerID, hash32(8)).Install(ictest.NewPoWToken(noLedger))
	otherID := canisterID(9)
	s.AddCanister(otherID, hash32(9)).Reply("greet", "hi")

	t.Run("ICRC1Ledger", func(t *testing.T) {
		got, err := c.Token(t.Context(), regID(ledgerID))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Interfaces, []string{registry.InterfaceICRC1}) {
			t.Errorf("interfaces = %v", got.Interfaces)
		}
		if got.Name != "Internet Computer" || got.Symbol != "ICP" || got.Decimals != 8 || got.Fee != "10000" {
			t.Errorf("got %+v", got)
		}
		if got.TotalSupply != above64 || got.Metadata["vendor:big"] != above64 {
			t.Errorf("big nat lost: supply %q, metadata %v", got.TotalSupply, got.Metadata["vendor:big"])
		}
		if got.Metadata["vendor:neg"] != "-5" || got.Metadata["vendor:blob"] != "AQID" {
			t.Errorf("metadata = %v", got.Metadata)
		}
		if got.MintingAccount != minter.Encode() || len(got.SupportedStandards) != 1 || got.SupportedStandards[0].Name != "ICRC-1" {
			t.Errorf("minting %q standards %v", got.MintingAccount, got.SupportedStandards)
		}
		if got.UpdatedAt.IsZero() {
			t.Error("UpdatedAt not set")
		}
	})
	t.Run("ICRC1MethodsFillMetadataGaps", func(t *testing.T) {
		got, err := c.Token(t.Context(), regID(bareID))
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "Bare" || got.Symbol != "BAR" || got.Decimals != 6 || got.Fee != "7" || got.TotalSupply != above64 {
			t.Errorf("got %+v", got)
		}
		if got.MintingAccount != "" || got.SupportedStandards != nil {
			t.Errorf("missing optional methods should leave fields empty: %+v", got)
		}
	})
	for _, tc := range []struct {
		name string
		id   principal.Principal
	}{{"PoWPrincipalField", powID}, {"PoWCanisterIDField", powCIDID}, {"PoWGetInfoFallback", oldPowID}} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.Token(t.Context(), regID(tc.id))
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{registry.InterfacePoW, registry.InterfaceLedger}; !slices.Equal(got.Interfaces, want) {
				t.Errorf("interfaces = %v, want %v", got.Interfaces, want)
			}
			if got.Name != "Pow Coin" || got.Symbol != "POW" || got.TotalSupply != "21000000" || got.Fee != "10" {
				t.Errorf("got %+v", got)
			}
			if got.LedgerID != powLedgerID.Encode() || got.LogoMediaType != "image/png" || len(got.Logo) == 0 {
				t.Errorf("ledger %q logo %q (%d bytes)", got.LedgerID, got.LogoMediaType, len(got.Logo))
			}
			if got.Metadata["icrc1:symbol"] != "LED" {
				t.Errorf("ledger metadata = %v", got.Metadata)
			}
			if tc.id.Equal(oldPowID) {
				if got.BlockHeight != "" || got.AverageBlockTime != nil {
					t.Errorf("get_info has no block fields: %+v", got)
				}
				return
			}
			if got.BlockHeight != "42" || got.BlockReward != "50" || got.CirculatingSupply != "1000" ||
				got.AverageBlockTime == nil || *got.AverageBlockTime != 61.5 || got.MiningProgressPercent != "0.01%" ||
				len(got.SocialLinks) != 1 || got.SocialLinks[0].Platform != "x" {
				t.Errorf("PoW fields: %+v", got)
			}
		})
	}
	t.Run("PoWWithoutLedger", func(t *testing.T) {
		got, err := c.Token(t.Context(), regID(noLedgerID))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Interfaces, []string{registry.InterfacePoW}) || got.LedgerID != "" {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("ErrPoWErr", func(t *testing.T) {
		_, err := c.Token(t.Context(), regID(errPowID))
		wantCode(t, err, registry.EUNAVAILABLE)
	})
	t.Run("ErrNeitherInterface", func(t *testing.T) {
		_, err := c.Token(t.Context(), regID(otherID))
		wantCode(t, err, registry.EUNSUPPORTED)
	})
	t.Run("ChangedValues", func(t *testing.T) {
		info := ictest.LedgerInfo{Name: "Internet Computer", Symbol: "ICP", Decimals: 8, Fee: big.NewInt(20_000),
			TotalSupply: new(big.Int).Lsh(big.NewInt(1), 100)}
		ledger.SetInfo(info)
		got, err := c.Token(t.Context(), regID(ledgerID))
		if err != nil {
			t.Fatal(err)
		}
		if got.Fee != "20000" || got.TotalSupply != "1267650600228229401496703205376" || got.MintingAccount != "" {
			t.Errorf("after change: %+v", got)
		}
	})
}

func ptr[T any](v T) *T { return &v }
