package registry

import (
	"math/big"
	"slices"
	"strings"
	"time"
)

// The cycles feature has one name in every layer: GET /canisters/{id}/cycles, CyclesPoint,
// store.AddCycles and store.CyclesRange (table canister_status), the poller's recordCycles and
// ic.Client.Cycles (a status canister's canister_status), ic.Client.PublicStatus (the
// management canister's, as a query) and ic.Client.SNSCycles (an SNS root's summary).

// Where a cycles observation came from (CyclesPoint.Source).
const (
	// CyclesPublicStatus: the management canister's canister_status as a query, which anyone
	// may call for a canister whose status_visibility is public (interface spec 0.51.0, 0.65.0).
	CyclesPublicStatus = "public_status"
	// CyclesBlackhole: a public status canister (KnownBlackholes) that controls the canister.
	CyclesBlackhole = "blackhole"
	// CyclesSNSRoot: the DAO's SNS root, get_sns_canisters_summary, one call for the DAO.
	CyclesSNSRoot = "sns_root"
)

// CyclesSources lists every source.
var CyclesSources = []string{CyclesPublicStatus, CyclesBlackhole, CyclesSNSRoot}

// StatusPrivateRetry is how long a canister whose status the IC refused to show (its
// status_visibility is not public) waits before the next attempt to read it.
const StatusPrivateRetry = 24 * time.Hour

// SNSTagPrefix starts the tag of a canister of an SNS DAO: sns:<root canister id>.
const SNSTagPrefix = "sns:"

// SNSRoot returns the SNS root named by the first sns:<root id> tag of tags, or "".
func SNSRoot(tags []string) CanisterID {
	for _, t := range tags {
		if id, ok := strings.CutPrefix(t, SNSTagPrefix); ok {
			if root, err := ParseCanisterID(id); err == nil {
				return root
			}
		}
	}
	return ""
}

// CyclesPoint is one observation of a canister's cycles and memory: the IC shows a canister's
// balance to its controllers (a public blackhole or the SNS root among them) and, when its
// status is public, to anyone.
type CyclesPoint struct {
	CanisterID CanisterID
	ObservedAt time.Time
	Source     string // CyclesPublicStatus, CyclesBlackhole or CyclesSNSRoot
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
