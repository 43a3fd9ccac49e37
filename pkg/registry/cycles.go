package registry

import (
	"math/big"
	"slices"
	"time"
)

// The cycles feature has one name in every layer: GET /canisters/{id}/cycles, CyclesPoint,
// store.AddCycles and store.CyclesRange (table canister_status), the poller's recordCycles and
// ic.Client.Cycles, which calls the status canister's canister_status.

// CyclesPoint is one observation of a canister's cycles and memory, read through a public
// status canister that controls it (the blackhole's canister_status): the IC shows a
// canister's balance only to its controllers.
type CyclesPoint struct {
	CanisterID CanisterID
	ObservedAt time.Time
	Status     string // running, stopping or stopped
	Cycles     string // nat, decimal
	MemorySize string // bytes, nat, decimal
	// IdleCyclesPerDay is what the canister burns per day while idle (nat, decimal); "" when
	// the status canister does not report it.
	IdleCyclesPerDay string
}

// RunwayDays is how many whole days the cycles last at the idle burn rate; "" when the rate
// is unknown or zero. Computed exactly on the decimal strings.
func (s *CyclesPoint) RunwayDays() string {
	c, ok1 := new(big.Int).SetString(s.Cycles, 10)
	b, ok2 := new(big.Int).SetString(s.IdleCyclesPerDay, 10)
	if !ok1 || !ok2 || b.Sign() <= 0 {
		return ""
	}
	return new(big.Int).Quo(c, b).String()
}

// CyclesSource returns the first of controllers that is a known public blackhole (it serves
// canister_status for the canisters it controls), or "" when there is none.
func CyclesSource(controllers []string) CanisterID {
	for _, c := range controllers {
		if slices.Contains(KnownBlackholes, c) {
			return CanisterID(c)
		}
	}
	return ""
}
