package registry

import (
	"encoding/json"
	"strconv"
	"strings"
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
//
// ID is the event's position in the event log (outcall and registry events share one
// sequence), and Cursor is that position with the log's epoch ("<epoch>:<id>"): what a client
// passes back as ?since= to resume. Both are 0/empty only for events that are not in the log
// (replay.gap, replay.reset). MinerID is the sending miner of an outcall event (the data of
// some events, such as solution_found, does not name it); NotificationID is the outcall's
// notification row. Registry events leave both empty and they are then omitted.
type Event struct {
	ID             int64           `json:"id"`
	Event          string          `json:"event"`
	Data           json.RawMessage `json:"data"`
	Timestamp      int64           `json:"timestamp"` // milliseconds
	MinerID        string          `json:"miner_id,omitempty"`
	NotificationID int64           `json:"notification_id,omitempty"`
	Cursor         string          `json:"cursor,omitempty"`
}

// LogCursor is a position in one event log: the log's epoch and the id of the last event seen.
type LogCursor struct {
	Epoch string // empty for a bare id (?since=<id>), which is assumed to be of the current log
	ID    int64
}

// String is the cursor as clients send it back: "<epoch>:<id>", or the bare id without epoch.
func (c LogCursor) String() string {
	if c.Epoch == "" {
		return strconv.FormatInt(c.ID, 10)
	}
	return c.Epoch + ":" + strconv.FormatInt(c.ID, 10)
}

// EpochLen is the length of an event log's epoch: 16 lowercase hex digits (8 random bytes),
// generated when the database's log is created (migration 0003).
const EpochLen = 16

// ValidEpoch reports whether s has the form of an epoch: EpochLen lowercase hex digits.
func ValidEpoch(s string) bool {
	if len(s) != EpochLen {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// ParseLogCursor reads "<id>" or "<epoch>:<id>": id a whole number ≥ 0, epoch as ValidEpoch.
// A cursor with a malformed epoch is an error, not a cursor of another log: it was not sent by
// any server, and taking it as one would replay the whole log.
func ParseLogCursor(s string) (LogCursor, error) {
	epoch, num, found := strings.Cut(s, ":")
	if !found {
		epoch, num = "", s
	}
	bad := func() (LogCursor, error) {
		return LogCursor{}, Errorf(EINVALID, "since must be a cursor (\"<epoch>:<id>\" as sent in each event, the epoch %d lowercase hex digits) or an event id (a whole number ≥ 0), not %q", EpochLen, s)
	}
	if found && !ValidEpoch(epoch) {
		return bad()
	}
	id, err := strconv.ParseInt(num, 10, 64)
	if err != nil || id < 0 || num[0] == '+' {
		return bad()
	}
	return LogCursor{Epoch: epoch, ID: id}, nil
}

// NewEvent builds a registry event with data marshalled to JSON and the time at in ms.
func NewEvent(name string, data any, at time.Time) (Event, error) {
	b, err := json.Marshal(data)
	if err != nil {
		return Event{}, err
	}
	return Event{Event: name, Data: b, Timestamp: at.UnixMilli()}, nil
}

// LogBounds describes the event log as one reader sees it.
type LogBounds struct {
	Epoch string
	// Oldest is the smallest id still stored; when the log is empty it is Head+1.
	Oldest int64
	// Head is the largest id ever assigned (0 for a new log), even if its row was pruned.
	Head int64
}
