package ictest

import (
	"bytes"
	"fmt"

	"github.com/aviate-labs/agent-go/candid"
	"github.com/aviate-labs/agent-go/candid/idl"
	"github.com/aviate-labs/agent-go/principal"
)

// The management canister's canister_status as a query call (interface spec 0.51.0), answered
// for the canister named by the effective canister id when its status_visibility is public
// (0.65.0) and refused otherwise, as replicas with the setting refuse it: reject code 5 with
// IC0542 CanisterStatusAccessDenied (dfinity/icp-cli PR #743 lists it with IC0512 and IC0541,
// the codes of older replicas and of subnets with admins). The reply is the spec's
// canister_status_result (public/references/ic.did at developer-docs b58cf04), with the
// fields the double does not simulate at zero.

// statusVisibility is ic.did's status_visibility.
type statusVisibility struct {
	Controllers    *idl.Null              `ic:"controllers,variant"`
	Public         *idl.Null              `ic:"public,variant"`
	AllowedViewers *[]principal.Principal `ic:"allowed_viewers,variant"`
}

// logVisibility is ic.did's log_visibility (and snapshot_visibility, the same shape).
type logVisibility struct {
	Controllers    *idl.Null              `ic:"controllers,variant"`
	Public         *idl.Null              `ic:"public,variant"`
	AllowedViewers *[]principal.Principal `ic:"allowed_viewers,variant"`
}

type envVar struct {
	Name  string `ic:"name"`
	Value string `ic:"value"`
}

// mgmtSettings is ic.did's definite_canister_settings.
type mgmtSettings struct {
	Controllers         []principal.Principal `ic:"controllers"`
	ComputeAllocation   idl.Nat               `ic:"compute_allocation"`
	MemoryAllocation    idl.Nat               `ic:"memory_allocation"`
	FreezingThreshold   idl.Nat               `ic:"freezing_threshold"`
	ReservedCyclesLimit idl.Nat               `ic:"reserved_cycles_limit"`
	MinIncomingCycles   idl.Nat               `ic:"minimum_incoming_canister_call_cycles"`
	LogVisibility       logVisibility         `ic:"log_visibility"`
	SnapshotVisibility  logVisibility         `ic:"snapshot_visibility"`
	StatusVisibility    statusVisibility      `ic:"status_visibility"`
	WasmMemoryLimit     idl.Nat               `ic:"wasm_memory_limit"`
	WasmMemoryThreshold idl.Nat               `ic:"wasm_memory_threshold"`
	EnvironmentVars     []envVar              `ic:"environment_variables"`
}

type memoryMetrics struct {
	WasmMemorySize      idl.Nat `ic:"wasm_memory_size"`
	StableMemorySize    idl.Nat `ic:"stable_memory_size"`
	GlobalMemorySize    idl.Nat `ic:"global_memory_size"`
	WasmBinarySize      idl.Nat `ic:"wasm_binary_size"`
	CustomSectionsSize  idl.Nat `ic:"custom_sections_size"`
	CanisterHistorySize idl.Nat `ic:"canister_history_size"`
	WasmChunkStoreSize  idl.Nat `ic:"wasm_chunk_store_size"`
	SnapshotsSize       idl.Nat `ic:"snapshots_size"`
}

type queryStats struct {
	NumCallsTotal        idl.Nat `ic:"num_calls_total"`
	NumInstructionsTotal idl.Nat `ic:"num_instructions_total"`
	RequestBytesTotal    idl.Nat `ic:"request_payload_bytes_total"`
	ResponseBytesTotal   idl.Nat `ic:"response_payload_bytes_total"`
}

// mgmtStatus is ic.did's canister_status_result.
type mgmtStatus struct {
	Status                 runStatus     `ic:"status"`
	ReadyForMigration      bool          `ic:"ready_for_migration"`
	Version                uint64        `ic:"version"`
	Settings               mgmtSettings  `ic:"settings"`
	ModuleHash             *[]byte       `ic:"module_hash"`
	MemorySize             idl.Nat       `ic:"memory_size"`
	MemoryMetrics          memoryMetrics `ic:"memory_metrics"`
	Cycles                 idl.Nat       `ic:"cycles"`
	ReservedCycles         idl.Nat       `ic:"reserved_cycles"`
	IdleCyclesBurnedPerDay idl.Nat       `ic:"idle_cycles_burned_per_day"`
	QueryStats             queryStats    `ic:"query_stats"`
}

// managementQuery runs a management canister method as a query about c (the effective
// canister). Only canister_status is served.
func managementQuery(c *Canister, method string, arg []byte) ([]byte, *Reject) {
	if method != "canister_status" {
		return nil, &Reject{Code: RejectDestinationInvalid, ErrorCode: "IC0536",
			Message: fmt.Sprintf("Management canister has no query method '%s'", method)}
	}
	var a blackholeArg
	if err := candid.Unmarshal(arg, []any{&a}); err != nil || !bytes.Equal(a.CanisterID.Raw, c.id.Raw) {
		return nil, &Reject{Code: RejectCanisterReject, ErrorCode: "IC0406",
			Message: "canister_status: the argument's canister_id must be the effective canister id"}
	}
	st, public := c.statusOf()
	if !public {
		return nil, &Reject{Code: RejectCanisterError, ErrorCode: "IC0542",
			Message: fmt.Sprintf("Caller 2vxsx-fae is not allowed to read the status of canister %s.", c.id)}
	}
	cs := c.state()
	null := idl.Null{}
	reply := mgmtStatus{Status: runStatusOf(st.Status), Version: 1,
		Settings: mgmtSettings{Controllers: nonNilPrincipals(cs.controllers), ComputeAllocation: nat(nil),
			MemoryAllocation: nat(nil), FreezingThreshold: idl.NewNat(uint64(2_592_000)), ReservedCyclesLimit: nat(nil),
			MinIncomingCycles: nat(nil), LogVisibility: logVisibility{Controllers: &null},
			SnapshotVisibility: logVisibility{Controllers: &null}, StatusVisibility: statusVisibility{Public: &null},
			WasmMemoryLimit: nat(nil), WasmMemoryThreshold: nat(nil), EnvironmentVars: []envVar{}},
		MemorySize: nat(st.MemorySize), MemoryMetrics: memoryMetrics{nat(nil), nat(nil), nat(nil), nat(nil), nat(nil), nat(nil), nat(nil), nat(nil)},
		Cycles: nat(st.Cycles), ReservedCycles: nat(nil), IdleCyclesBurnedPerDay: nat(st.IdleCyclesBurnedPerDay),
		QueryStats: queryStats{nat(nil), nat(nil), nat(nil), nat(nil)}}
	if cs.moduleHash != nil {
		h := append([]byte{}, cs.moduleHash...)
		reply.ModuleHash = &h
	}
	out, err := candid.Marshal([]any{reply})
	if err != nil {
		return nil, &Reject{Code: RejectCanisterError, ErrorCode: "IC0503", Message: "canister_status: " + err.Error()}
	}
	return out, nil
}

// runStatusOf is the status variant of "running", "stopping" or "stopped" (default running).
func runStatusOf(s string) runStatus {
	null := idl.Null{}
	switch s {
	case "stopping":
		return runStatus{Stopping: &null}
	case "stopped":
		return runStatus{Stopped: &null}
	}
	return runStatus{Running: &null}
}

func nonNilPrincipals(ps []principal.Principal) []principal.Principal {
	if ps == nil {
		return []principal.Principal{}
	}
	return ps
}
