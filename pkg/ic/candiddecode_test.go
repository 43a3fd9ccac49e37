package ic

import (
	"math/big"
	"reflect"
	"strings"
	"testing"

	"github.com/aviate-labs/agent-go/candid"
	"github.com/aviate-labs/agent-go/candid/idl"
	"github.com/aviate-labs/agent-go/principal"
)

// TestCandidDecoder_AsAgentGo decodes replies of every shape the client reads, and some it
// must refuse (the cases named Err…), with candidDecoder and with agent-go's candid.Unmarshal:
// both give the same value, or both fail with the same error.
func TestCandidDecoder_AsAgentGo(t *testing.T) {
	tok := principal.Principal{Raw: []byte{0, 0, 0, 0, 0, 0, 0, 7, 1, 1}}
	big1 := idl.NewBigNat(new(big.Int).Lsh(big.NewInt(123), 70)) // beyond 64 bits
	str, rate := "1 day", 2.5
	sub := []byte{1, 2, 3}
	links := []socialLink{{URL: "https://x.example", Platform: "x"}, {URL: "https://t.example", Platform: "t"}}
	type speedAsText struct {
		Speed string `ic:"speed_percentage"`
	}
	type withExtra struct {
		BlocksMined uint64 `ic:"blocks_mined"`
		Unknown     string `ic:"not_in_go"`
	}
	for _, tc := range []struct {
		name  string
		reply any        // encoded with candid.Marshal
		into  func() any // a new Go value to decode into
	}{
		{"MinerInfoOk", minerInfoResult{Ok: &minerInfo{CurrentToken: &tok, IsMining: true, SpeedPercentage: 80,
			ChunksPerRefresh: 10, ChunkSize: 1 << 16, ICRCVersion: 2}}, func() any { return new(minerInfoResult) }},
		{"MinerInfoNoToken", minerInfoResult{Ok: &minerInfo{SpeedPercentage: 1}}, func() any { return new(minerInfoResult) }},
		{"MinerInfoErr", minerInfoResult{Err: &str}, func() any { return new(minerInfoResult) }},
		{"MiningStatsSome", &miningStats{BlocksMined: 5, TotalHashes: 1 << 40, StartTime: 9, LastHashRate: 1e6,
			TotalRewards: 50, ChunksSinceRefresh: 3}, func() any { return new(*miningStats) }},
		{"MiningStatsNone", (*miningStats)(nil), func() any { return new(*miningStats) }},
		{"CycleUsageFull", cycleUsage{CurrentBalance: big1, UsageLast15Min: &big1, UsageRatePerHour: &rate,
			EstimatedRemainingTime: &str}, func() any { return new(cycleUsage) }},
		{"CycleUsageBare", cycleUsage{CurrentBalance: idl.NewNat(uint64(7))}, func() any { return new(cycleUsage) }},
		{"PoWTokenOk", powTokenResult{Ok: &powTokenInfo{Name: "Pow", Ticker: "POW", TotalSupply: big1, LedgerID: &tok,
			Logo: &str, Decimals: 8, TransferFee: idl.NewNat(uint64(10)), SocialLinks: &links, AverageBlockTime: &rate,
			CirculatingSupply: idl.NewNat(uint64(1)), MiningProgressPercentage: "0.1", CurrentBlockReward: idl.NewNat(uint64(50)),
			CurrentBlockHeight: idl.NewNat(uint64(9))}}, func() any { return new(powTokenResult) }},
		{"PoWTokenErr", powTokenResult{Err: &str}, func() any { return new(powTokenResult) }},
		{"Metadata", []metadataEntry{
			{Key: "icrc1:name", Value: metadataValue{Text: &str}},
			{Key: "icrc1:fee", Value: metadataValue{Nat: &big1}},
			{Key: "icrc1:blob", Value: metadataValue{Blob: &sub}},
		}, func() any { return new([]metadataEntry) }},
		{"MetadataEmpty", []metadataEntry{}, func() any { return new([]metadataEntry) }},
		{"MintingAccount", &account{Owner: tok, Subaccount: &sub}, func() any { return new(*account) }},
		{"MintingAccountNone", (*account)(nil), func() any { return new(*account) }},
		{"Standards", []standard{{Name: "ICRC-1", URL: "https://github.com/dfinity/ICRC-1"}}, func() any { return new([]standard) }},
		{"Nat", big1, func() any { return new(idl.Nat) }},
		{"ExtraFieldIgnored", withExtra{BlocksMined: 4, Unknown: "x"}, func() any { return new(miningStats) }},
		{"ErrFieldType", struct {
			Ok *speedAsText `ic:"Ok,variant"`
		}{Ok: &speedAsText{Speed: "fast"}}, func() any { return new(minerInfoResult) }},
		{"RecordIntoVariantMatchesNothing", minerInfo{IsMining: true}, func() any { return new(minerInfoResult) }},
		{"ErrNotARecord", "text", func() any { return new(minerInfo) }},
		{"ErrVecOfText", []string{"a"}, func() any { return new([]standard) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := candid.Marshal([]any{tc.reply})
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			want, got := tc.into(), tc.into()
			wantErr := candid.Unmarshal(raw, []any{want})
			if refused := strings.HasPrefix(tc.name, "Err"); refused != (wantErr != nil) {
				t.Fatalf("agent-go's error = %v; the case expects one: %v", wantErr, refused)
			}
			gotErr := newCandidDecoder().unmarshal(raw, []any{got})
			if (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != wantErr.Error()) {
				t.Fatalf("error = %v, agent-go's = %v", gotErr, wantErr)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("decoded %#v, agent-go decodes %#v", reflect.ValueOf(got).Elem(), reflect.ValueOf(want).Elem())
			}
		})
	}
}

// BenchmarkCandidDecode decodes a miner's get_info reply with agent-go's candid.Unmarshal and
// with candidDecoder.
func BenchmarkCandidDecode(b *testing.B) {
	tok := principal.Principal{Raw: []byte{0, 0, 0, 0, 0, 0, 0, 7, 1, 1}}
	raw, err := candid.Marshal([]any{minerInfoResult{Ok: &minerInfo{CurrentToken: &tok, IsMining: true,
		SpeedPercentage: 80, ChunksPerRefresh: 10, ChunkSize: 1 << 16, ICRCVersion: 2}}})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("agent-go", func(b *testing.B) {
		for b.Loop() {
			var out minerInfoResult
			if err := candid.Unmarshal(raw, []any{&out}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("candidDecoder", func(b *testing.B) {
		d := newCandidDecoder()
		for b.Loop() {
			var out minerInfoResult
			if err := d.unmarshal(raw, []any{&out}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
