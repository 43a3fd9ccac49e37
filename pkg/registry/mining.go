package registry

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Mining analytics (issue 27): what the miners' solution_found outcalls report, kept per
// token. Every value is as reported by the outcalls; nothing is read from the token canister.

// Solution is one stored solution_found outcall of a token.
type Solution struct {
	NotificationID int64
	TokenID        string
	BlockHeight    string // decimal
	MinerID        string
	Difficulty     string // decimal, "" when the outcall carried none
	Reward         string // decimal, "" when the outcall carried none
	Hash           string
	Nonce          string
	ReceivedAt     time.Time
	// RepeatOf is the notification of the first solution stored for the same token and
	// block height (0: this one is the first, and counts).
	RepeatOf int64
}

// SolutionFilter selects a token's solutions for GET /tokens/{id}/solutions.
type SolutionFilter struct {
	Token    string
	Miner    string
	From, To time.Time // zero: unbounded; both inclusive
	Page     Page
}

// MinerShare is one row of a token's leaderboard.
type MinerShare struct {
	MinerID        string
	Name           string // the registered canister's name, "" when unknown
	Solutions      int64
	LastSolutionAt time.Time
	HashRate       *float64 // the miner's latest fresh hash rate, nil when none
}

// MiningSummary is a token's mining over [From, To] (both inclusive).
type MiningSummary struct {
	TokenID                 string
	From, To                time.Time
	Solutions               int64
	FirstAt, LastAt         time.Time // of the first and last counted solution (zero when none)
	DifficultyFirst         string
	DifficultyLast          string
	DifficultyMin           string
	DifficultyMax           string
	RewardFirst, RewardLast string
	NetworkHashRate         *float64
	Miners                  []MinerShare // most solutions first, then the earliest last solution
	MinerCount              int64        // miners with solutions in the range (Miners may be cut)
	AverageBlockTimeSeconds *float64
	BlocksPerHour           *float64
}

// MiningBucket is one step of a token's mining series, [Start, Start+step).
type MiningBucket struct {
	Start                   time.Time
	Solutions               int64
	DifficultyMax           string
	AverageBlockTimeSeconds *float64
	NetworkHashRate         *float64
}

// ParseNat reads a non-negative whole number from a JSON value (a number or a decimal string)
// as its canonical decimal text: no sign, no leading zeros, no fraction or exponent. ok is
// false for anything else (so 1e3, -1, 1.5 and "0x10" are not nats).
func ParseNat(raw json.RawMessage) (string, bool) {
	s := strings.TrimSpace(string(raw))
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", false
		}
	}
	if s == "" || len(s) > MaxNatDigits {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return "", false
		}
	}
	s = strings.TrimLeft(s, "0")
	if s == "" {
		s = "0"
	}
	return s, true
}

// MaxNatDigits bounds the decimal nats kept from outcalls (far above any difficulty or reward).
const MaxNatDigits = 1000

// NatKey is the sort key of a canonical decimal nat: its length in four digits, then its
// digits, so that byte order is numeric order on both backends (text columns compare bytes:
// SQLite's BINARY, PostgreSQL's "C" collation). "" stays "" (no value).
func NatKey(nat string) string {
	if nat == "" {
		return ""
	}
	return fmt.Sprintf("%04d%s", len(nat), nat)
}

// NatFromKey inverts NatKey.
func NatFromKey(key string) string {
	if len(key) < 4 {
		return ""
	}
	return key[4:]
}
