package ictest

import (
	"github.com/aviate-labs/agent-go/candid/idl"
	"github.com/aviate-labs/agent-go/principal"
)

// An SNS root's get_sns_canisters_summary, the public update method that reports the status
// (cycles, memory, idle burn) of every canister of the DAO in one call. Candid from dfinity/ic
// rs/sns/root/canister/root.did (commit 02e269e424a66415b2e1646926677a0bae79743b):
//
//	get_sns_canisters_summary : (GetSnsCanistersSummaryRequest) -> (GetSnsCanistersSummaryResponse);
//
// The statuses are those the double's canisters report to the management canister
// (Canister.SetStatus), whatever their status_visibility: the root controls them.

// SNSSummaryIDs are the canisters of one DAO as its root summarises them.
type SNSSummaryIDs struct {
	Root, Governance, Ledger, Index, Swap principal.Principal
	Archives, Dapps                       []principal.Principal
}

type snsSummaryArg struct {
	UpdateCanisterList *bool `ic:"update_canister_list"`
}

// snsSettings is root.did's DefiniteCanisterSettingsArgs.
type snsSettings struct {
	FreezingThreshold   idl.Nat               `ic:"freezing_threshold"`
	Controllers         []principal.Principal `ic:"controllers"`
	WasmMemoryLimit     *idl.Nat              `ic:"wasm_memory_limit"`
	MemoryAllocation    idl.Nat               `ic:"memory_allocation"`
	ComputeAllocation   idl.Nat               `ic:"compute_allocation"`
	WasmMemoryThreshold *idl.Nat              `ic:"wasm_memory_threshold"`
}

// snsStatus is root.did's CanisterStatusResultV2 (query_stats left out: it is optional).
type snsStatus struct {
	Status                 runStatus   `ic:"status"`
	MemorySize             idl.Nat     `ic:"memory_size"`
	Cycles                 idl.Nat     `ic:"cycles"`
	Settings               snsSettings `ic:"settings"`
	IdleCyclesBurnedPerDay idl.Nat     `ic:"idle_cycles_burned_per_day"`
	ModuleHash             *[]byte     `ic:"module_hash"`
}

// snsCanisterSummary is root.did's CanisterSummary.
type snsCanisterSummary struct {
	Status     *snsStatus           `ic:"status"`
	CanisterID *principal.Principal `ic:"canister_id"`
}

// snsSummaryReply is root.did's GetSnsCanistersSummaryResponse.
type snsSummaryReply struct {
	Root       *snsCanisterSummary  `ic:"root"`
	Swap       *snsCanisterSummary  `ic:"swap"`
	Ledger     *snsCanisterSummary  `ic:"ledger"`
	Index      *snsCanisterSummary  `ic:"index"`
	Governance *snsCanisterSummary  `ic:"governance"`
	Dapps      []snsCanisterSummary `ic:"dapps"`
	Archives   []snsCanisterSummary `ic:"archives"`
}

// InstallSNSSummary installs get_sns_canisters_summary on root, an SNS root canister, reporting
// the canisters ids returns at each call (so a list that grows is followed).
func (s *Server) InstallSNSSummary(root *Canister, ids func() SNSSummaryIDs) {
	root.Handle("get_sns_canisters_summary", func([]byte) ([]any, error) {
		v := ids()
		out := snsSummaryReply{Root: s.snsSummaryOf(v.Root), Swap: s.snsSummaryOf(v.Swap),
			Ledger: s.snsSummaryOf(v.Ledger), Index: s.snsSummaryOf(v.Index), Governance: s.snsSummaryOf(v.Governance),
			Dapps: []snsCanisterSummary{}, Archives: []snsCanisterSummary{}}
		for _, d := range v.Dapps {
			if cs := s.snsSummaryOf(d); cs != nil {
				out.Dapps = append(out.Dapps, *cs)
			}
		}
		for _, a := range v.Archives {
			if cs := s.snsSummaryOf(a); cs != nil {
				out.Archives = append(out.Archives, *cs)
			}
		}
		return []any{out}, nil
	})
}

// snsSummaryOf is the summary of canister id: nil for the empty principal, no status when the
// double has no such canister (the root could not read it).
func (s *Server) snsSummaryOf(id principal.Principal) *snsCanisterSummary {
	if len(id.Raw) == 0 {
		return nil
	}
	out := &snsCanisterSummary{CanisterID: &id}
	c := s.Canister(id)
	if c == nil {
		return out
	}
	st, _ := c.statusOf()
	cs := c.state()
	out.Status = &snsStatus{Status: runStatusOf(st.Status), MemorySize: nat(st.MemorySize), Cycles: nat(st.Cycles),
		Settings: snsSettings{FreezingThreshold: idl.NewNat(uint64(2_592_000)), Controllers: nonNilPrincipals(cs.controllers),
			MemoryAllocation: nat(nil), ComputeAllocation: nat(nil)},
		IdleCyclesBurnedPerDay: nat(st.IdleCyclesBurnedPerDay)}
	if cs.moduleHash != nil {
		h := append([]byte{}, cs.moduleHash...)
		out.Status.ModuleHash = &h
	}
	return out
}
