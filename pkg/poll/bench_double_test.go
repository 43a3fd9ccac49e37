package poll_test

import (
	"fmt"
	"io"
	"math/big"
	"os"
	"testing"
	"time"

	"github.com/aviate-labs/agent-go/candid/idl"
	"github.com/aviate-labs/agent-go/principal"

	"canistry/pkg/ic/ictest"
	"canistry/pkg/registry"
)

// Environment of the child process that serves the benchmark's replica double.
const (
	doubleEnv  = "CANISTRY_POLL_BENCH_DOUBLE"  // the number of canisters of benchPlan to serve
	latencyEnv = "CANISTRY_POLL_BENCH_LATENCY" // added to every request
)

// TestMain turns this test binary into the benchmark's replica double when doubleEnv is set.
func TestMain(m *testing.M) {
	if n := os.Getenv(doubleEnv); n != "" {
		if err := serveDouble(n, os.Getenv(latencyEnv)); err != nil {
			fmt.Fprintln(os.Stderr, "bench double:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// benchCanister is one registered canister of the benchmark registry.
type benchCanister struct {
	id   registry.CanisterID
	kind registry.Kind
	i    int
}

// Benchmark registry layout: in every 20 canisters 1 wallet, 2 tokens, 3 of kind other and 14
// miners (5/10/15/70 %). The first four tokens are ICRC-1 ledgers; every other token is a PoW
// token whose balances live in one of four unregistered ledgers, so there are eight tracked
// ledgers and a wallet reads eight balances.
const benchSharedLedgers = 4

func benchKind(i int) registry.Kind {
	switch i % 20 {
	case 0:
		return registry.KindWallet
	case 1, 2:
		return registry.KindToken
	case 3, 4, 5:
		return registry.KindOther
	}
	return registry.KindMiner
}

func benchPrincipal(i int) principal.Principal { return ictest.CanisterID(uint64(100_000 + i)) }

func benchLedger(j int) principal.Principal { return ictest.CanisterID(uint64(1_000 + j)) }

// benchPlan is the registry of n canisters.
func benchPlan(n int) []benchCanister {
	out := make([]benchCanister, n)
	for i := range out {
		out[i] = benchCanister{id: idOf(benchPrincipal(i)), kind: benchKind(i), i: i}
	}
	return out
}

// serveDouble serves benchPlan(n) on a random loopback port, prints its URL on a line of its
// own, and serves until stdin closes.
func serveDouble(n, latency string) error {
	var count int
	if _, err := fmt.Sscan(n, &count); err != nil {
		return fmt.Errorf("%s=%q: %w", doubleEnv, n, err)
	}
	lat, err := time.ParseDuration(latency)
	if err != nil {
		return fmt.Errorf("%s=%q: %w", latencyEnv, latency, err)
	}
	s, err := ictest.Start(ictest.Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	s.SetLatency(lat)
	installBench(s, benchPlan(count))
	fmt.Println(s.URL())
	_, _ = io.Copy(io.Discard, os.Stdin)
	return nil
}

func installBench(s *ictest.Server, plan []benchCanister) {
	ctrl := ictest.CanisterID(999)
	var wallets []principal.Principal
	for _, c := range plan {
		if c.kind == registry.KindWallet {
			wallets = append(wallets, c.id.Principal())
		}
	}
	newLedger := func(id principal.Principal, name string) {
		l := ictest.NewLedger(ictest.LedgerInfo{Name: name, Symbol: name, Decimals: 8,
			Fee: big.NewInt(10_000), TotalSupply: big.NewInt(1_000_000_000)})
		for _, w := range wallets {
			l.SetBalance(w, big.NewInt(100_000))
		}
		s.AddCanister(id, hash32(0xe0), ctrl).Install(l)
	}
	for j := range benchSharedLedgers {
		newLedger(benchLedger(j), fmt.Sprintf("L%d", j))
	}
	tokens := 0
	for _, c := range plan {
		p := c.id.Principal()
		switch c.kind {
		case registry.KindToken:
			if tokens < benchSharedLedgers {
				newLedger(p, fmt.Sprintf("T%d", c.i))
			} else {
				ledger := benchLedger(tokens % benchSharedLedgers)
				s.AddCanister(p, hash32(0xe1), ctrl).Install(ictest.NewPoWToken(ictest.PoWTokenInfo{
					Name: fmt.Sprintf("Pow %d", c.i), Ticker: "POW", TotalSupply: 21_000_000, LedgerID: &ledger,
					Decimals: 8, TransferFee: 10, CirculatingSupply: 1000, CurrentBlockHeight: uint64(c.i),
					CurrentBlockReward: 50, MiningProgressPercentage: "0.01"}))
			}
			tokens++
		case registry.KindMiner:
			token := benchPrincipal(1)
			m := ictest.NewMiner(ictest.MinerInfo{CurrentToken: &token, IsMining: true, SpeedPercentage: 100,
				ChunkSize: 1 << 16, ChunksPerRefresh: 10, ICRCVersion: 2},
				ictest.CycleUsage{CurrentBalance: idl.NewNat(uint64(5_000_000_000_000))})
			m.SetStats(&ictest.MiningStats{BlocksMined: uint64(c.i), TotalHashes: 1 << 30, LastHashRate: 1e6, TotalRewards: 50})
			s.AddCanister(p, hash32(0xe2), ctrl).Install(m)
		default:
			s.AddCanister(p, hash32(0xe3), ctrl)
		}
	}
}
