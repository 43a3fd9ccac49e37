package ic

import (
	"context"
	"errors"
	"time"

	"github.com/aviate-labs/agent-go/candid"
	"github.com/aviate-labs/agent-go/candid/idl"
	"github.com/aviate-labs/agent-go/principal"

	"canistry/pkg/registry"
)

// managementCanister is aaaaa-aa, the empty principal.
var managementCanister = principal.Principal{Raw: []byte{}}

// statusDeniedCodes are the replica's error codes for "you may not read this canister's
// status": IC0512 (CanisterInvalidController, replicas before status_visibility), IC0541
// (CanisterInvalidControllerOrSubnetAdmin, subnets with admins) and IC0542
// (CanisterStatusAccessDenied, replicas with status_visibility); dfinity/icp-cli PR #743
// recognises the same three.
var statusDeniedCodes = map[string]bool{"IC0512": true, "IC0541": true, "IC0542": true}

// PublicStatus reads id's cycles and memory from the management canister's canister_status,
// sent as a query (interface spec 0.51.0) to the effective canister id, which anyone may call
// for a canister whose status_visibility is public (0.65.0). A canister whose status is not
// public is a forbidden error (IsStatusPrivate): one refused query, no retry here. The reply
// is a signed query, verified like every query when verification is on.
func (c *Client) PublicStatus(ctx context.Context, id registry.CanisterID) (registry.CyclesPoint, error) {
	p := id.Principal()
	var st snsStatus // the fields kept are those of the management canister's record
	err := c.queryAt(ctx, managementCanister, p, id, "canister_status", []any{cyclesArg{CanisterID: p}}, &st)
	if rej := (*registry.RejectError)(nil); errors.As(err, &rej) && statusDeniedCodes[rej.ErrorCode] {
		return registry.CyclesPoint{}, registry.WrapError(registry.EFORBIDDEN,
			"canister "+string(id)+": its status is not public", err)
	}
	if err != nil {
		return registry.CyclesPoint{}, err
	}
	return st.point(id, registry.CyclesPublicStatus, c.now()), nil
}

// IsStatusPrivate reports whether err is PublicStatus's refusal of a private status.
func IsStatusPrivate(err error) bool { return registry.ErrorCode(err) == registry.EFORBIDDEN }

// decodeStatus decodes a canister_status record (the management canister's, or the one a
// blackhole relays): status, memory, cycles, and idle_cycles_burned_per_day when the record has
// it (older status canisters relay a record without it).
func (c *Client) decodeStatus(id registry.CanisterID, method string, raw []byte) (registry.CyclesPoint, error) {
	var st cyclesStatus
	if err := candid.Unmarshal(raw, []any{&st}); err != nil {
		return registry.CyclesPoint{}, decodeError(id, method, raw, []any{&st}, err)
	}
	out := registry.CyclesPoint{CanisterID: id, ObservedAt: c.now(), Cycles: natString(st.Cycles),
		MemorySize: natString(st.MemorySize), Status: st.Status.name()}
	var idle cyclesIdle
	if candid.Unmarshal(raw, []any{&idle}) == nil {
		out.IdleCyclesPerDay = natString(idle.IdleCyclesBurnedPerDay)
	}
	return out, nil
}

func (s runState) name() string {
	switch {
	case s.Stopping != nil:
		return "stopping"
	case s.Stopped != nil:
		return "stopped"
	}
	return "running"
}

// snsStatus is the part of a canister status the registry keeps, as the management canister's
// canister_status_result and the SNS root's CanisterStatusResultV2 (dfinity/ic
// rs/sns/root/canister/root.did) both carry it.
type snsStatus struct {
	Status                 runState `ic:"status"`
	MemorySize             idl.Nat  `ic:"memory_size"`
	Cycles                 idl.Nat  `ic:"cycles"`
	IdleCyclesBurnedPerDay idl.Nat  `ic:"idle_cycles_burned_per_day"`
}

func (s *snsStatus) point(id registry.CanisterID, source string, at time.Time) registry.CyclesPoint {
	return registry.CyclesPoint{CanisterID: id, ObservedAt: at, Source: source, Status: s.Status.name(),
		Cycles: natString(s.Cycles), MemorySize: natString(s.MemorySize), IdleCyclesPerDay: natString(s.IdleCyclesBurnedPerDay)}
}

type snsCanisterSummary struct {
	Status     *snsStatus           `ic:"status"`
	CanisterID *principal.Principal `ic:"canister_id"`
}

// snsSummary is root.did's GetSnsCanistersSummaryResponse.
type snsSummary struct {
	Root       *snsCanisterSummary  `ic:"root"`
	Swap       *snsCanisterSummary  `ic:"swap"`
	Ledger     *snsCanisterSummary  `ic:"ledger"`
	Index      *snsCanisterSummary  `ic:"index"`
	Governance *snsCanisterSummary  `ic:"governance"`
	Dapps      []snsCanisterSummary `ic:"dapps"`
	Archives   []snsCanisterSummary `ic:"archives"`
}

type snsSummaryArg struct {
	UpdateCanisterList *bool `ic:"update_canister_list"`
}

// SNSCycles reads the cycles and memory of every canister of an SNS DAO in one call: the root's
// public get_sns_canisters_summary (an update method, its certified reply verified by
// agent-go; rs/sns/root/canister/root.did). A canister the root could not read (no status) is
// left out.
func (c *Client) SNSCycles(ctx context.Context, root registry.CanisterID) (map[registry.CanisterID]registry.CyclesPoint, error) {
	arg, err := candid.Marshal([]any{snsSummaryArg{}})
	if err != nil {
		return nil, err
	}
	raw, err := withoutContext(ctx, func() ([]byte, error) {
		return c.agent.CallRaw(root.Principal(), "get_sns_canisters_summary", arg)
	})
	if err != nil {
		return nil, callError(ctx, root, "get_sns_canisters_summary", err)
	}
	var sum snsSummary
	if err := candid.Unmarshal(raw, []any{&sum}); err != nil {
		return nil, decodeError(root, "get_sns_canisters_summary", raw, []any{&sum}, err)
	}
	all := append([]snsCanisterSummary{}, sum.Dapps...)
	all = append(all, sum.Archives...)
	for _, s := range []*snsCanisterSummary{sum.Root, sum.Swap, sum.Ledger, sum.Index, sum.Governance} {
		if s != nil {
			all = append(all, *s)
		}
	}
	now := c.now()
	out := make(map[registry.CanisterID]registry.CyclesPoint, len(all))
	for _, s := range all {
		if s.Status == nil || s.CanisterID == nil {
			continue
		}
		id := registry.CanisterID(s.CanisterID.Encode())
		out[id] = s.Status.point(id, registry.CyclesSNSRoot, now)
	}
	return out, nil
}
