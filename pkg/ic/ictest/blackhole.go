package ictest

import (
	"math/big"
	"sync"

	"github.com/aviate-labs/agent-go/candid"
	"github.com/aviate-labs/agent-go/candid/idl"
	"github.com/aviate-labs/agent-go/principal"
)

// CanisterStatus is what a status canister reports for a canister it controls.
type CanisterStatus struct {
	Status                 string // running (default), stopping or stopped
	Cycles                 *big.Int
	MemorySize             *big.Int
	IdleCyclesBurnedPerDay *big.Int
}

// Blackhole is a public status canister such as e3mmv-5qaaa-aaaah-aadma-cai: its update method
// canister_status(record {canister_id}) relays the management canister's canister_status of a
// canister it controls. Install it on the blackhole's id; SetStatus says what it reports.
type Blackhole struct {
	mu       sync.Mutex
	statuses map[string]CanisterStatus // by target principal text
}

// NewBlackhole returns a status canister that controls no canister yet.
func NewBlackhole() *Blackhole { return &Blackhole{statuses: map[string]CanisterStatus{}} }

// SetStatus makes canister_status of target report st.
func (b *Blackhole) SetStatus(target principal.Principal, st CanisterStatus) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.statuses[target.Encode()] = st
}

type blackholeArg struct {
	CanisterID principal.Principal `ic:"canister_id"`
}

type runStatus struct {
	Running  *idl.Null `ic:"running,variant"`
	Stopping *idl.Null `ic:"stopping,variant"`
	Stopped  *idl.Null `ic:"stopped,variant"`
}

type definiteSettings struct {
	Controllers       []principal.Principal `ic:"controllers"`
	ComputeAllocation idl.Nat               `ic:"compute_allocation"`
	MemoryAllocation  idl.Nat               `ic:"memory_allocation"`
	FreezingThreshold idl.Nat               `ic:"freezing_threshold"`
}

// statusReply is the management canister's canister_status record as the blackhole relays it.
type statusReply struct {
	Status                 runStatus        `ic:"status"`
	Settings               definiteSettings `ic:"settings"`
	ModuleHash             *[]byte          `ic:"module_hash"`
	MemorySize             idl.Nat          `ic:"memory_size"`
	Cycles                 idl.Nat          `ic:"cycles"`
	IdleCyclesBurnedPerDay idl.Nat          `ic:"idle_cycles_burned_per_day"`
}

// Install installs canister_status on c.
func (b *Blackhole) Install(c *Canister) {
	c.Handle("canister_status", func(arg []byte) ([]any, error) {
		var a blackholeArg
		if err := candid.Unmarshal(arg, []any{&a}); err != nil {
			return nil, &Reject{Code: RejectCanisterError, ErrorCode: "IC0503", Message: "canister_status: " + err.Error()}
		}
		b.mu.Lock()
		st, ok := b.statuses[a.CanisterID.Encode()]
		b.mu.Unlock()
		if !ok {
			return nil, &Reject{Code: RejectCanisterReject, ErrorCode: "IC0406",
				Message: "Only the controllers of the canister " + a.CanisterID.Encode() + " can control it."}
		}
		nat := func(v *big.Int) idl.Nat {
			if v == nil {
				return idl.NewNat(uint64(0))
			}
			return idl.NewBigNat(v)
		}
		return []any{statusReply{Status: runStatusOf(st.Status), Settings: definiteSettings{Controllers: []principal.Principal{c.ID()},
			ComputeAllocation: nat(nil), MemoryAllocation: nat(nil), FreezingThreshold: idl.NewNat(uint64(2_592_000))},
			MemorySize: nat(st.MemorySize), Cycles: nat(st.Cycles), IdleCyclesBurnedPerDay: nat(st.IdleCyclesBurnedPerDay)}}, nil
	})
}
