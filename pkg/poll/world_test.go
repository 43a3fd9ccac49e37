package poll_test

import (
	"math/big"

	"github.com/aviate-labs/agent-go/candid/idl"
	"github.com/aviate-labs/agent-go/principal"

	"canistry/pkg/ic/ictest"
	"canistry/pkg/registry"
)

// world is a small registry on the replica double: an ICRC-1 token, a PoW token with its
// separate ledger (tracked, not registered), a miner, a wallet holding both tokens, and an
// empty canister of kind other.
type world struct {
	token, pow, powLedger, miner, wallet, other registry.CanisterID
	all                                         []registry.CanisterID // the registered ones

	ledger    *ictest.Ledger
	powToken  *ictest.PoWToken
	powLedgr  *ictest.Ledger
	minerProg *ictest.Miner
	ctrl      principal.Principal
}

func newWorld(f *fixture) *world {
	f.t.Helper()
	p := func(n uint64) principal.Principal { return principalN(n) }
	w := &world{token: idOf(p(1)), pow: idOf(p(2)), powLedger: idOf(p(3)), miner: idOf(p(4)),
		wallet: idOf(p(5)), other: idOf(p(6)), ctrl: p(100)}
	w.all = []registry.CanisterID{w.token, w.pow, w.miner, w.wallet, w.other}

	w.ledger = ictest.NewLedger(ictest.LedgerInfo{Name: "Alpha", Symbol: "ALP", Decimals: 8,
		Fee: big.NewInt(10_000), TotalSupply: big.NewInt(1_000_000)})
	f.double.AddCanister(p(1), hash32(1), w.ctrl).Install(w.ledger)

	w.powLedgr = ictest.NewLedger(ictest.LedgerInfo{Name: "Beta", Symbol: "BET", Decimals: 8,
		Fee: big.NewInt(10), TotalSupply: big.NewInt(5000)})
	f.double.AddCanister(p(3), hash32(3), w.ctrl).Install(w.powLedgr)

	ledgerID := p(3)
	w.powToken = ictest.NewPoWToken(ictest.PoWTokenInfo{Name: "Beta", Ticker: "BET", TotalSupply: 21_000_000,
		LedgerID: &ledgerID, Decimals: 8, TransferFee: 10, CirculatingSupply: 5000, CurrentBlockHeight: 42,
		CurrentBlockReward: 50, MiningProgressPercentage: "0.02"})
	f.double.AddCanister(p(2), hash32(2), w.ctrl).Install(w.powToken)

	powID := p(2)
	w.minerProg = ictest.NewMiner(ictest.MinerInfo{CurrentToken: &powID, IsMining: true, SpeedPercentage: 50,
		ChunkSize: 1000, ChunksPerRefresh: 10, ICRCVersion: 1},
		ictest.CycleUsage{CurrentBalance: idl.NewNat(uint64(5_000_000_000_000))})
	w.minerProg.SetStats(&ictest.MiningStats{BlocksMined: 3, TotalHashes: 1000, LastHashRate: 12.5, TotalRewards: 150})
	f.double.AddCanister(p(4), hash32(4), w.ctrl).Install(w.minerProg)

	f.double.AddCanister(p(5), hash32(5), w.ctrl, p(5))
	w.ledger.SetBalance(p(5), big.NewInt(777))
	w.powLedgr.SetBalance(p(5), big.NewInt(888))

	f.double.AddCanister(p(6), nil, w.ctrl)

	kinds := []registry.Kind{registry.KindToken, registry.KindToken, registry.KindMiner, registry.KindWallet, registry.KindOther}
	for i, id := range w.all {
		f.register(id, kinds[i])
	}
	return w
}
