package ictest

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/aviate-labs/agent-go/candid/idl"
	"github.com/aviate-labs/agent-go/principal"
)

// CanisterID returns the n-th canister id in the IC's own numbering (8 big-endian bytes of n,
// then 0x01 0x01): CanisterID(2) is ryjl3-tyaaa-aaaaa-aaaba-cai, the ICP ledger's id.
// Deterministic ids let demos and benchmarks register canisters before the double runs.
func CanisterID(n uint64) principal.Principal {
	raw := make([]byte, 10)
	binary.BigEndian.PutUint64(raw, n)
	raw[8], raw[9] = 0x01, 0x01
	return principal.Principal{Raw: raw}
}

// DemoSpec says how many demo canisters to install.
type DemoSpec struct {
	Tokens  int // PoW tokens, each with its own ICRC-1 ledger
	Ledgers int // plain ICRC-1 ledgers
	Miners  int
	Wallets int
	SNSes   int // SNS DAOs listed by SNS-W (InstallSNSDemo); wallets hold their tokens too
}

// ParseDemoSpec reads "tokens=2,ledgers=1,miners=3,wallets=1,snses=3"; "none" or "" installs
// nothing.
func ParseDemoSpec(s string) (DemoSpec, error) {
	var d DemoSpec
	if s == "" || s == "none" {
		return d, nil
	}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		n, err := strconv.Atoi(v)
		if !ok || err != nil || n < 0 || n > 10_000 {
			return d, fmt.Errorf("demo spec %q: want name=count with 0..10000", part)
		}
		switch k {
		case "tokens":
			d.Tokens = n
		case "ledgers":
			d.Ledgers = n
		case "miners":
			d.Miners = n
		case "wallets":
			d.Wallets = n
		case "snses":
			d.SNSes = n
		default:
			return d, fmt.Errorf("demo spec %q: unknown kind %q (tokens, ledgers, miners, wallets, snses)", part, k)
		}
	}
	return d, nil
}

// Demo is an installed demo set. Tick advances it (block heights, balances, mining stats) so
// that refreshes see changing values.
type Demo struct {
	Tokens, Ledgers, Miners, Wallets []principal.Principal
	// SNSes are the DAOs SNS-W lists (not in Ledgers: discovery registers them).
	SNSes []*SNS

	pows      []*PoWToken
	powInfo   []PoWTokenInfo
	ledgers   []*Ledger
	miners    []*Miner
	minerInfo []MinerInfo
	ticks     uint64
	server    *Server
}

// InstallDemo installs d's canisters with ids counted up from CanisterID(1000): for each token
// its ledger, then ledgers, miners (mining the first token), the SNS DAOs (from
// CanisterID(5000)) and wallets (holding every ledger, the DAOs' included).
func (s *Server) InstallDemo(d DemoSpec) *Demo {
	next := uint64(1000)
	newID := func() principal.Principal { next++; return CanisterID(next) }
	controller := CanisterID(999)
	hash := func(kind string) []byte { h := sha256.Sum256([]byte("canistry demo " + kind)); return h[:] }
	demo := &Demo{}
	supply := new(big.Int).Exp(big.NewInt(10), big.NewInt(26), nil) // above 2^64 on purpose
	for i := range d.Tokens {
		tokenID, ledgerID := newID(), newID()
		ledger := NewLedger(LedgerInfo{Name: fmt.Sprintf("Demo Pow %d", i+1), Symbol: fmt.Sprintf("DPW%d", i+1),
			Decimals: 8, Fee: big.NewInt(10_000), TotalSupply: supply,
			Logo: "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciLz4="})
		s.AddCanister(ledgerID, hash("ledger"), tokenID).Install(ledger)
		info := PoWTokenInfo{Name: fmt.Sprintf("Demo Pow %d", i+1), Ticker: fmt.Sprintf("DPW%d", i+1),
			TotalSupply: 21_000_000_00000000, LedgerID: &ledgerID, Decimals: 8, TransferFee: 10_000,
			MiningProgressPercentage: "0.00", CurrentBlockReward: 50_00000000, FormattedBlockReward: "50 DPW"}
		tok := NewPoWToken(info)
		tok.UseCanisterIDField(i%2 == 1) // both deployed versions
		s.AddCanister(tokenID, hash("pow token"), controller).Install(tok)
		demo.Tokens = append(demo.Tokens, tokenID)
		demo.Ledgers = append(demo.Ledgers, ledgerID)
		demo.pows, demo.powInfo, demo.ledgers = append(demo.pows, tok), append(demo.powInfo, info), append(demo.ledgers, ledger)
	}
	for i := range d.Ledgers {
		id, index := newID(), CanisterID(2000+uint64(i)) // its index canister: not installed, linked
		ledger := NewLedger(LedgerInfo{Name: fmt.Sprintf("Demo Ledger %d", i+1), Symbol: fmt.Sprintf("DLG%d", i+1),
			Decimals: 8, Fee: big.NewInt(10_000), TotalSupply: supply, ICRC10: true, IndexPrincipal: &index,
			Standards: demoStandards(i)})
		s.AddCanister(id, hash("ledger"), controller).Install(ledger)
		demo.Ledgers = append(demo.Ledgers, id)
		demo.ledgers = append(demo.ledgers, ledger)
	}
	for range d.Miners {
		id := newID()
		var token *principal.Principal
		if len(demo.Tokens) > 0 {
			token = &demo.Tokens[0]
		}
		info := MinerInfo{CurrentToken: token, IsMining: token != nil, SpeedPercentage: 100, ChunksPerRefresh: 10, ChunkSize: 1 << 16, ICRCVersion: 2}
		m := NewMiner(info, CycleUsage{CurrentBalance: idl.NewNat(uint64(5_000_000_000_000))})
		s.AddCanister(id, hash("miner"), controller).Install(m)
		demo.Miners = append(demo.Miners, id)
		demo.miners, demo.minerInfo = append(demo.miners, m), append(demo.minerInfo, info)
	}
	demo.SNSes = s.InstallSNSDemo(d.SNSes)
	for _, dao := range demo.SNSes {
		demo.ledgers = append(demo.ledgers, dao.Ledger)
	}
	for range d.Wallets {
		id := newID()
		s.AddCanister(id, hash("wallet"), controller)
		for _, l := range demo.ledgers {
			l.SetBalance(id, big.NewInt(1_00000000))
		}
		demo.Wallets = append(demo.Wallets, id)
	}
	demo.server = s
	demo.statuses(s)
	return demo
}

// demoStandards are what demo ledger i declares (ICRC-10): every ledger ICRC-1, 2, 3, 10 and
// 106; the second and later also a privileged right (ICRC-152, 153, 154 in turn).
func demoStandards(i int) []Standard {
	out := []Standard{}
	names := []string{"ICRC-1", "ICRC-2", "ICRC-3", "ICRC-10", "ICRC-106"}
	if i > 0 {
		names = append(names, []string{"ICRC-152", "ICRC-153", "ICRC-154"}[(i-1)%3])
	}
	for _, n := range names {
		out = append(out, Standard{Name: n, URL: "https://github.com/dfinity/ICRC/blob/main/ICRCs/" + n})
	}
	return out
}

// statuses gives every demo canister a cycles balance and makes the status of tokens, ledgers
// and miners public (interface spec 0.65.0), so the poller reads their cycles with the
// management canister's canister_status query; wallets keep theirs private (one refused query,
// then a daily retry). Certified creation and install times are the install time.
func (d *Demo) statuses(s *Server) {
	groups := [][]principal.Principal{d.Tokens, d.Ledgers, d.Miners, d.Wallets}
	for g, ids := range groups {
		for i, id := range ids {
			c := s.Canister(id)
			c.SetStatusPublic(g < 3)
			c.SetStatus(CanisterStatus{Cycles: big.NewInt(int64(3+i) * 1_000_000_000_000), MemorySize: big.NewInt(int64(2+g) << 20),
				IdleCyclesBurnedPerDay: big.NewInt(int64(1+g) * 100_000_000)})
		}
	}
}

// Tick advances the demo by one step: each token mines a block, each miner reports more
// hashes, each wallet gains one token unit in every ledger.
func (d *Demo) Tick() {
	d.ticks++
	for i, t := range d.pows {
		info := d.powInfo[i]
		info.CurrentBlockHeight = d.ticks
		info.CirculatingSupply = d.ticks * info.CurrentBlockReward
		t.SetInfo(info)
	}
	for i, m := range d.miners {
		m.SetStats(&MiningStats{BlocksMined: d.ticks / uint64(len(d.miners)+1), TotalHashes: d.ticks * 1_000_000,
			StartTime: 1_700_000_000_000_000_000, LastHashRate: 1e6 + float64(i), TotalRewards: d.ticks * 10, ChunksSinceRefresh: d.ticks % 10})
		m.SetCycleUsage(CycleUsage{CurrentBalance: idl.NewNat(5_000_000_000_000 - d.ticks*1_000_000)})
	}
	for _, l := range d.ledgers {
		for _, w := range d.Wallets {
			l.SetBalance(w, new(big.Int).SetUint64(1_00000000+d.ticks))
		}
	}
	d.burn()
}

// burn takes each canister's idle burn per tick (a day's at the demo's pace) from its cycles.
func (d *Demo) burn() {
	if d.server == nil {
		return
	}
	for _, ids := range [][]principal.Principal{d.Tokens, d.Ledgers, d.Miners, d.Wallets} {
		for _, id := range ids {
			c := d.server.Canister(id)
			st, _ := c.statusOf()
			if st.Cycles == nil || st.IdleCyclesBurnedPerDay == nil {
				continue
			}
			st.Cycles = new(big.Int).Sub(st.Cycles, st.IdleCyclesBurnedPerDay)
			c.SetStatus(st)
		}
	}
}
