package registry

import (
	"strings"
	"time"
	"unicode"
)

// SNSCanisters are the canisters of one SNS DAO: what SNS-W lists (root, governance, ledger,
// index, swap) and what its root adds (ledger archives). An empty id was not reported.
type SNSCanisters struct {
	Root, Governance, Ledger, Index, Swap CanisterID
	Archives                              []CanisterID
}

// Discovery roles: what a discovered canister is within its SNS.
const (
	RoleRoot       = "root"
	RoleGovernance = "governance"
	RoleLedger     = "ledger"
	RoleIndex      = "index"
	RoleSwap       = "swap"
	RoleArchive    = "archive"
)

// EventDiscoveryCompleted reports a discovery run: what it added and updated, with counts.
const EventDiscoveryCompleted = "discovery.completed"

// DiscoverySNS is the source name of SNS discovery.
const DiscoverySNS = "sns"

// Discovered is one canister a discovery run found, as it would register it.
type Discovered struct {
	ID     CanisterID
	Kind   Kind
	Name   string
	Tag    string // "sns:<root id>"
	Role   string
	Source string // the DAO's root id
}

// SNSTag is the tag of every canister of the SNS whose root is root.
func SNSTag(root CanisterID) string { return "sns:" + string(root) }

// Discover lists the canisters of one DAO to register: kind token for the ledger, other for the
// rest, each named "<symbol> <role>" (archives numbered from 1) and tagged SNSTag. symbol is
// the ledger's, cleaned by CleanSymbol; an empty symbol names them "SNS <root prefix> …".
func (s SNSCanisters) Discover(symbol string) []Discovered {
	prefix := CleanSymbol(symbol)
	if prefix == "" {
		prefix = "SNS " + strings.SplitN(string(s.Root), "-", 2)[0]
	}
	var out []Discovered
	add := func(id CanisterID, role, name string, kind Kind) {
		if id == "" {
			return
		}
		out = append(out, Discovered{ID: id, Kind: kind, Name: prefix + " " + name, Tag: SNSTag(s.Root), Role: role, Source: string(s.Root)})
	}
	add(s.Root, RoleRoot, "root", KindOther)
	add(s.Governance, RoleGovernance, "governance", KindOther)
	add(s.Ledger, RoleLedger, "ledger", KindToken)
	add(s.Index, RoleIndex, "index", KindOther)
	add(s.Swap, RoleSwap, "swap", KindOther)
	for i, a := range s.Archives {
		add(a, RoleArchive, "archive "+itoa(i+1), KindOther)
	}
	return out
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		if n /= 10; n == 0 {
			return string(b[i:])
		}
	}
}

// MaxSymbolLen bounds the symbol part of a discovered name.
const MaxSymbolLen = 32

// CleanSymbol makes a ledger's self-reported symbol safe as part of a name: letters, digits and
// the punctuation . _ - only (anything else dropped, a canister controls its symbol), at most
// MaxSymbolLen runes.
func CleanSymbol(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == MaxSymbolLen {
			break
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '.' || r == '_' || r == '-' {
			b.WriteRune(r)
			n++
		}
	}
	return b.String()
}

// DiscoveryRun is one discovery run as the store records it.
type DiscoveryRun struct {
	ID         int64        `json:"id"`
	Source     string       `json:"source"`  // DiscoverySNS
	Trigger    string       `json:"trigger"` // "schedule" or "request"
	StartedAt  time.Time    `json:"started_at"`
	FinishedAt time.Time    `json:"finished_at"`
	DAOs       int          `json:"daos"`      // DAOs SNS-W listed
	Found      int          `json:"found"`     // canisters found
	Added      int          `json:"added"`     // registered by this run
	Updated    int          `json:"updated"`   // name, kind or tag changed by this run
	Unchanged  int          `json:"unchanged"` // registered already, nothing to change
	Kept       int          `json:"kept"`      // name or kind set by hand, kept although discovery would set another
	Skipped    int          `json:"skipped"`   // deleted by hand after an earlier discovery: not registered again
	Failed     int          `json:"failed"`    // DAOs whose root or ledger could not be read
	Errors     []string     `json:"errors"`    // at most 20
	AddedIDs   []CanisterID `json:"added_ids"`
}

// Lists returns r with empty lists instead of nil ones (JSON [] rather than null).
func (r DiscoveryRun) Lists() DiscoveryRun {
	if r.Errors == nil {
		r.Errors = []string{}
	}
	if r.AddedIDs == nil {
		r.AddedIDs = []CanisterID{}
	}
	return r
}

// DiscoveryFilter selects discovery runs: newest first.
type DiscoveryFilter struct {
	Source string
	Page   Page
}
