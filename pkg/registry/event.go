package registry

import (
	"encoding/json"
	"time"
)

// Event names published on the bus and sent to WebSocket clients.
const (
	EventCanisterRegistered = "canister.registered"
	EventCanisterUpdated    = "canister.updated"
	EventCanisterDeleted    = "canister.deleted"
	EventModuleHashChanged  = "module_hash.changed"
	EventControllersChanged = "controllers.changed"

	EventTokenConnected = "token_connected"
	EventMiningStarted  = "mining_started"
	EventSolutionFound  = "solution_found"
)

// Event is the WebSocket message and the payload of canistry.events.<event>.
// ID is the notification row id for outcall events (the replay sequence); registry events,
// which have no row, carry 0 and are live-only. MinerID is the sending miner of an outcall
// event (the data of some events, such as solution_found, does not name it); registry events
// leave it empty and it is then omitted.
type Event struct {
	ID        int64           `json:"id"`
	Event     string          `json:"event"`
	Data      json.RawMessage `json:"data"`
	Timestamp int64           `json:"timestamp"` // milliseconds
	MinerID   string          `json:"miner_id,omitempty"`
}

// NewEvent builds a registry event with data marshalled to JSON and the time at in ms.
func NewEvent(name string, data any, at time.Time) (Event, error) {
	b, err := json.Marshal(data)
	if err != nil {
		return Event{}, err
	}
	return Event{Event: name, Data: b, Timestamp: at.UnixMilli()}, nil
}
