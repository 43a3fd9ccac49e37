package ic

import (
	"context"

	"github.com/aviate-labs/agent-go/candid"
	"github.com/aviate-labs/agent-go/candid/idl"
	"github.com/aviate-labs/agent-go/principal"

	"canistry/pkg/registry"
)

// cyclesArg is the argument of a status canister's canister_status.
type cyclesArg struct {
	CanisterID principal.Principal `ic:"canister_id"`
}

type runState struct {
	Running  *idl.Null `ic:"running,variant"`
	Stopping *idl.Null `ic:"stopping,variant"`
	Stopped  *idl.Null `ic:"stopped,variant"`
}

// cyclesStatus is the part of the management canister's canister_status record (which the
// blackhole relays) that the registry keeps; the other fields are skipped when decoding.
type cyclesStatus struct {
	Status     runState `ic:"status"`
	MemorySize idl.Nat  `ic:"memory_size"`
	Cycles     idl.Nat  `ic:"cycles"`
}

type cyclesIdle struct {
	IdleCyclesBurnedPerDay idl.Nat `ic:"idle_cycles_burned_per_day"`
}

// Cycles reads id's cycles and memory through statusCanister, a public blackhole
// that controls it: an update call to its canister_status, whose certified reply agent-go
// verifies. idle_cycles_burned_per_day is read when the reply has it (older status canisters
// relay a record without it).
func (c *Client) Cycles(ctx context.Context, statusCanister, id registry.CanisterID) (registry.CyclesPoint, error) {
	arg, err := candid.Marshal([]any{cyclesArg{CanisterID: id.Principal()}})
	if err != nil {
		return registry.CyclesPoint{}, err
	}
	raw, err := withoutContext(ctx, func() ([]byte, error) {
		return c.agent.CallRaw(statusCanister.Principal(), "canister_status", arg)
	})
	if err != nil {
		return registry.CyclesPoint{}, callError(ctx, statusCanister, "canister_status", err)
	}
	out, err := c.decodeStatus(statusCanister, "canister_status", raw)
	out.CanisterID, out.Source = id, registry.CyclesBlackhole
	return out, err
}
