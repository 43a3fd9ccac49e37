package registry

import (
	"encoding/json"
	"time"
)

// Notification is one outcall delivered by a canister (all replica copies count as one).
type Notification struct {
	ID          int64 // the event sequence
	DedupKey    string
	MinerID     string
	Event       string
	ICTimestamp uint64 // ns
	Data        json.RawMessage
	BodyHash    string // sha256 hex of the first copy's body
	ReceivedAt  time.Time
	Copies      int
	Diverged    bool

	// The response replayed byte for byte to every copy.
	ResponseStatus int
	ResponseBody   []byte

	// Source is the trusted client address of the copy being claimed, recorded with the copy
	// (CopyForensics), not in the notification.
	Source string
}

// AsEvent returns the WebSocket message for n: its timestamp is the IC timestamp in ms.
func (n *Notification) AsEvent() Event {
	return Event{ID: n.ID, Event: n.Event, Data: n.Data, Timestamp: int64(n.ICTimestamp / 1_000_000), MinerID: n.MinerID}
}
