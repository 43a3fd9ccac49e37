package registry

import "time"

// NotificationFilter selects notifications of the outcall log.
type NotificationFilter struct {
	Miner string // "" for any: the miner_id the outcall named
	Event string // "" for any
	Token string // "" for any: data.token_id
	// From and To bound received_at (inclusive); zero for no bound.
	From, To time.Time
	Page     Page
}
