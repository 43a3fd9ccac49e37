package registry

import (
	"encoding/json"
	"strings"
)

// MaxEventLen is the longest event name the intake accepts, and so the longest a filter names.
const MaxEventLen = 64

// ValidEventName reports whether s is an event name the intake accepts: dot-separated words of
// letters, digits, '_' and '-', at most MaxEventLen bytes.
func ValidEventName(s string) bool {
	if s == "" || len(s) > MaxEventLen {
		return false
	}
	for _, word := range strings.Split(s, ".") {
		if word == "" {
			return false
		}
		for _, c := range []byte(word) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
				return false
			}
		}
	}
	return true
}

// EventKeys are the fields of an event that filters look at.
type EventKeys struct {
	Event    string
	Token    string // data.token_id
	Miner    string // the outcall's miner_id, or data.miner_id
	Canister string // data.canister_id (registry events)
}

// KeysOf extracts the filter fields of e. Data that is not a JSON object matches no id filter.
func KeysOf(e Event) EventKeys {
	var d struct {
		TokenID    any `json:"token_id"`
		MinerID    any `json:"miner_id"`
		CanisterID any `json:"canister_id"`
	}
	_ = json.Unmarshal(e.Data, &d)
	k := EventKeys{Event: e.Event, Token: jsonString(d.TokenID), Miner: e.MinerID, Canister: jsonString(d.CanisterID)}
	if k.Miner == "" {
		k.Miner = jsonString(d.MinerID)
	}
	return k
}

func jsonString(v any) string {
	s, _ := v.(string)
	return s
}

// EventFilter selects events, as /ws's ?events=, ?token= and ?miner= and a webhook's filters
// do. Empty parts match everything; all set parts must match.
type EventFilter struct {
	Events map[string]bool // nil: every event
	Token  string          // data.token_id, or data.canister_id of a registry event
	Miner  string          // the outcall's miner, or data.miner_id / data.canister_id
}

// Match reports whether an event with keys k passes every part of f.
func (f *EventFilter) Match(k *EventKeys) bool {
	if f.Events != nil && !f.Events[k.Event] {
		return false
	}
	if f.Token != "" && k.Token != f.Token && k.Canister != f.Token {
		return false
	}
	if f.Miner != "" && k.Miner != f.Miner && k.Canister != f.Miner {
		return false
	}
	return true
}
