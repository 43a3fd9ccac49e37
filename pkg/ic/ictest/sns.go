package ictest

import (
	"crypto/sha256"
	"fmt"
	"math/big"
	"sync"

	"github.com/aviate-labs/agent-go/principal"
)

// The SNS side of the double: the NNS's SNS-W canister, which lists every deployed SNS, and
// each SNS's root canister, which lists the DAO's canisters. Candid types follow dfinity/ic:
// rs/nns/sns-wasm/canister/sns-wasm.did (commit 02f6d5dc7dd312c7d81b037f0333cf3f05c0f351:
// list_deployed_snses : (record {}) -> (ListDeployedSnsesResponse) query) and
// rs/sns/root/canister/root.did (commit 02e269e424a66415b2e1646926677a0bae79743b:
// list_sns_canisters : (record {}) -> (ListSnsCanistersResponse) query).

// SNSWasmID is the SNS-W canister's id on mainnet (the NNS subnet); the double installs it
// under the same id.
const SNSWasmID = "qaa6y-5yaaa-aaaaa-aaafa-cai"

// SNSCanisters are the canister ids of one SNS DAO as its root lists them.
type SNSCanisters struct {
	Root, Governance, Ledger, Index, Swap principal.Principal
	Archives, Dapps                       []principal.Principal
}

// SNSRoot is an SNS root canister. Its canister list can change while it serves (an archive
// spawned by the ledger, a dapp registered), and other files of this package install more of
// the root's methods on the same canister (Canister) from Canisters.
type SNSRoot struct {
	mu       sync.Mutex
	canister *Canister
	ids      SNSCanisters
}

// Canister is the root's canister in the double.
func (r *SNSRoot) Canister() *Canister { return r.canister }

// Canisters returns the DAO's canister ids as the root lists them now.
func (r *SNSRoot) Canisters() SNSCanisters {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := r.ids
	ids.Archives = append([]principal.Principal(nil), r.ids.Archives...)
	ids.Dapps = append([]principal.Principal(nil), r.ids.Dapps...)
	return ids
}

// AddArchive makes the root list one more ledger archive.
func (r *SNSRoot) AddArchive(id principal.Principal) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids.Archives = append(r.ids.Archives, id)
}

// listSNSCanistersReply is root.did's ListSnsCanistersResponse.
type listSNSCanistersReply struct {
	Root       *principal.Principal  `ic:"root"`
	Swap       *principal.Principal  `ic:"swap"`
	Ledger     *principal.Principal  `ic:"ledger"`
	Index      *principal.Principal  `ic:"index"`
	Governance *principal.Principal  `ic:"governance"`
	Dapps      []principal.Principal `ic:"dapps"`
	Extensions *snsExtensions        `ic:"extensions"`
	Archives   []principal.Principal `ic:"archives"`
}

type snsExtensions struct {
	ExtensionCanisterIDs []principal.Principal `ic:"extension_canister_ids"`
}

func optPrincipal(p principal.Principal) *principal.Principal {
	if len(p.Raw) == 0 {
		return nil
	}
	return &p
}

// Install installs list_sns_canisters on c, the root's canister.
func (r *SNSRoot) Install(c *Canister) {
	r.canister = c
	c.Handle("list_sns_canisters", func([]byte) ([]any, error) {
		ids := r.Canisters()
		return []any{listSNSCanistersReply{Root: optPrincipal(ids.Root), Swap: optPrincipal(ids.Swap),
			Ledger: optPrincipal(ids.Ledger), Index: optPrincipal(ids.Index), Governance: optPrincipal(ids.Governance),
			Dapps: nonNil(ids.Dapps), Archives: nonNil(ids.Archives)}}, nil
	})
}

func nonNil(ps []principal.Principal) []principal.Principal {
	if ps == nil {
		return []principal.Principal{}
	}
	return ps
}

// SNSW is the SNS-W canister: list_deployed_snses lists the SNSes it has deployed, in order.
type SNSW struct {
	mu        sync.Mutex
	instances []SNSCanisters
}

// deployedSNS is sns-wasm.did's DeployedSns.
type deployedSNS struct {
	RootCanisterID       *principal.Principal `ic:"root_canister_id"`
	GovernanceCanisterID *principal.Principal `ic:"governance_canister_id"`
	IndexCanisterID      *principal.Principal `ic:"index_canister_id"`
	SwapCanisterID       *principal.Principal `ic:"swap_canister_id"`
	LedgerCanisterID     *principal.Principal `ic:"ledger_canister_id"`
}

type listDeployedSNSesReply struct {
	Instances []deployedSNS `ic:"instances"`
}

func (w *SNSW) add(ids SNSCanisters) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.instances = append(w.instances, ids)
}

// Install installs list_deployed_snses on c.
func (w *SNSW) Install(c *Canister) {
	c.Handle("list_deployed_snses", func([]byte) ([]any, error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		out := listDeployedSNSesReply{Instances: make([]deployedSNS, len(w.instances))}
		for i, s := range w.instances {
			out.Instances[i] = deployedSNS{RootCanisterID: optPrincipal(s.Root), GovernanceCanisterID: optPrincipal(s.Governance),
				IndexCanisterID: optPrincipal(s.Index), SwapCanisterID: optPrincipal(s.Swap), LedgerCanisterID: optPrincipal(s.Ledger)}
		}
		return []any{out}, nil
	})
}

// SNSSpec describes one DAO for InstallSNS.
type SNSSpec struct {
	// First is the number of the DAO's first canister id (CanisterID(First)); its canisters
	// take First, First+1, … in the order root, governance, ledger, index, swap, archives.
	First    uint64
	Symbol   string // the ledger's icrc1_symbol
	Name     string // the ledger's icrc1_name
	Archives int
}

// SNS is an installed DAO.
type SNS struct {
	Root   *SNSRoot
	Ledger *Ledger
}

// InstallSNS installs a DAO's root, governance, ledger (an ICRC-1 ledger reporting spec's
// symbol), index, swap and archives, controlled as on mainnet (root by governance, the others
// by root), and lists it in SNS-W, which it installs at SNSWasmID on first use.
func (s *Server) InstallSNS(spec SNSSpec) *SNS {
	n := spec.First
	next := func() principal.Principal { id := CanisterID(n); n++; return id }
	ids := SNSCanisters{Root: next(), Governance: next(), Ledger: next(), Index: next(), Swap: next()}
	for range spec.Archives {
		ids.Archives = append(ids.Archives, next())
	}
	hash := func(kind string) []byte { h := sha256.Sum256([]byte("sns " + kind)); return h[:] }
	root := &SNSRoot{ids: ids}
	root.Install(s.AddCanister(ids.Root, hash("root"), ids.Governance))
	s.AddCanister(ids.Governance, hash("governance"), ids.Root)
	ledger := NewLedger(LedgerInfo{Name: spec.Name, Symbol: spec.Symbol, Decimals: 8, Fee: big.NewInt(100_000),
		TotalSupply: big.NewInt(1_000_000_00000000),
		Standards:   []Standard{{Name: "ICRC-1", URL: "https://github.com/dfinity/ICRC-1"}}})
	s.AddCanister(ids.Ledger, hash("ledger"), ids.Root).Install(ledger)
	s.AddCanister(ids.Index, hash("index"), ids.Root)
	s.AddCanister(ids.Swap, hash("swap"), ids.Root)
	for _, a := range ids.Archives {
		s.AddCanister(a, hash("archive"), ids.Ledger)
	}
	// The root's get_sns_canisters_summary (snsroot_summary.go) reports the DAO's cycles, which
	// the poller reads for the canisters discovery tags sns:<root>.
	s.InstallSNSSummary(s.Canister(ids.Root), func() SNSSummaryIDs { return SNSSummaryIDs(root.Canisters()) })
	for i, p := range append([]principal.Principal{ids.Root, ids.Governance, ids.Ledger, ids.Index, ids.Swap}, ids.Archives...) {
		s.Canister(p).SetStatus(CanisterStatus{Cycles: big.NewInt(int64(10+i) * 1_000_000_000_000), MemorySize: big.NewInt(8 << 20),
			IdleCyclesBurnedPerDay: big.NewInt(500_000_000)})
	}
	s.snsw().add(ids)
	return &SNS{Root: root, Ledger: ledger}
}

// snsw returns the double's SNS-W, installing it on first use.
func (s *Server) snsw() *SNSW {
	s.snsOnce.Do(func() {
		s.snsW = &SNSW{}
		s.snsW.Install(s.AddCanister(principal.MustDecode(SNSWasmID), sha256.New().Sum(nil), CanisterID(1)))
	})
	return s.snsW
}

// InstallSNSDemo installs n DAOs with ids counted from CanisterID(5000), ten apart, each with
// one archive; symbols SNSA, SNSB, …
func (s *Server) InstallSNSDemo(n int) []*SNS {
	out := make([]*SNS, n)
	for i := range n {
		sym := fmt.Sprintf("SNS%c", 'A'+rune(i%26))
		if i >= 26 {
			sym += fmt.Sprint(i / 26)
		}
		out[i] = s.InstallSNS(SNSSpec{First: 5000 + uint64(i)*10, Symbol: sym, Name: "Demo DAO " + sym, Archives: 1})
	}
	return out
}
