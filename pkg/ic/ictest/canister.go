package ictest

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aviate-labs/agent-go/candid"
	"github.com/aviate-labs/agent-go/principal"
)

// IC reject codes (interface spec, "reject codes").
const (
	RejectSysFatal           = 1
	RejectSysTransient       = 2
	RejectDestinationInvalid = 3
	RejectCanisterReject     = 4
	RejectCanisterError      = 5
)

// Handler answers one query method. arg is the Candid-encoded argument. It returns the reply
// values as typed Go values, which the double encodes with agent-go's candid.Marshal (a nil
// slice is the empty reply), or an error: a *Reject is sent as that reject, any other error as
// a canister trap (reject code 5, IC0503).
type Handler func(arg []byte) ([]any, error)

// Reject is an IC reject as a handler can return it.
type Reject struct {
	Code      uint64 // IC reject code, 1..5
	Message   string
	ErrorCode string // e.g. "IC0406"; the replica always sends one
}

// Error implements error.
func (r *Reject) Error() string {
	return fmt.Sprintf("reject %d %s: %s", r.Code, r.ErrorCode, r.Message)
}

// Fault is a misbehaviour a canister (or the whole double) shows on demand.
type Fault int

const (
	// FaultNone is normal service.
	FaultNone Fault = iota
	// FaultStall makes every request for the canister block until the client gives up or the
	// server closes.
	FaultStall
	// FaultMalformedReply makes queries answer "replied" with bytes that are not Candid.
	FaultMalformedReply
	// FaultWrongKey signs the canister's certificates (read_state, including the ["subnet"]
	// read of the node keys that signed-query verification needs) with a BLS key that is not
	// the subnet's.
	FaultWrongKey
	// FaultBadNodeSignature signs query replies with a node key that does not match the
	// certified one.
	FaultBadNodeSignature
	// FaultHTTP503 answers every request with HTTP 503, as a boundary node does when no
	// replica is reachable.
	FaultHTTP503
	// FaultUnknownNode signs query replies correctly, but with the key of a node that is not
	// a member of the subnet (its id appears in no certificate).
	FaultUnknownNode
	// FaultNoSignature answers queries without any node signature.
	FaultNoSignature
	// FaultStaleCertificate certifies a /time staleAge (10 minutes) in the past in the
	// canister's certificates (read_state, update calls), well beyond the 5-minute ingress
	// expiry, as a replayed old reply or a replica far behind would.
	FaultStaleCertificate
	// FaultForgedDelegation attaches to the canister's certificates a delegation that a key
	// other than the root key signed: the subnet's real id, key and canister ranges, and the
	// certificate itself correctly signed by the subnet key. Only the root signature is forged.
	FaultForgedDelegation
)

// Canister is a programmable canister installed in the double. All its methods are safe for
// concurrent use.
type Canister struct {
	id principal.Principal

	mu          sync.RWMutex
	moduleHash  []byte
	controllers []principal.Principal
	methods     map[string]Handler
	fault       Fault
	latency     time.Duration
	// now is the double's clock: installs are stamped with it.
	now func() time.Time
	// createdAt and installedAt are the certified canister_creation_timestamp and
	// last_install_timestamp (zero: the path does not exist, as for a canister created or
	// installed before the IC recorded it, or an empty one).
	createdAt, installedAt time.Time
	// status is what the management canister's canister_status reports; statusPublic is the
	// status_visibility setting (false: controllers only, the default).
	status       CanisterStatus
	statusPublic bool
}

// ID returns the canister id.
func (c *Canister) ID() principal.Principal { return c.id }

// Handle installs (or replaces) a query method.
func (c *Canister) Handle(method string, h Handler) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.methods[method] = h
}

// Remove uninstalls a method, so calls to it are rejected as "no query method".
func (c *Canister) Remove(method string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.methods, method)
}

// Reply installs method answering with the fixed values (see Handler).
func (c *Canister) Reply(method string, values ...any) {
	c.Handle(method, func([]byte) ([]any, error) { return values, nil })
}

// RejectWith installs method answering with the given reject.
func (c *Canister) RejectWith(method string, code uint64, errorCode, message string) {
	c.Handle(method, func([]byte) ([]any, error) {
		return nil, &Reject{Code: code, ErrorCode: errorCode, Message: message}
	})
}

// SetModuleHash changes the installed module hash; nil makes the canister empty. It is an
// install (or an uninstall): last_install_timestamp becomes now (or absent).
func (c *Canister) SetModuleHash(h []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.moduleHash = h
	c.installedAt = time.Time{}
	if h != nil {
		c.installedAt = c.now()
	}
}

// SetInstallTimes sets the certified canister_creation_timestamp and last_install_timestamp;
// a zero time leaves that path out of the state tree.
func (c *Canister) SetInstallTimes(created, installed time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.createdAt, c.installedAt = created, installed
}

// SetStatus sets what the management canister's canister_status reports for the canister.
func (c *Canister) SetStatus(st CanisterStatus) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.status = st
}

// SetStatusPublic sets the canister's status_visibility: true is public (anyone may call
// canister_status), false controllers only (interface spec 0.65.0).
func (c *Canister) SetStatusPublic(public bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.statusPublic = public
}

// statusOf returns what canister_status reports and whether anyone may read it.
func (c *Canister) statusOf() (CanisterStatus, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.status, c.statusPublic
}

// SetControllers changes the controllers.
func (c *Canister) SetControllers(ps ...principal.Principal) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.controllers = ps
}

// SetFault sets the canister's fault (FaultNone to heal it).
func (c *Canister) SetFault(f Fault) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fault = f
}

// SetLatency adds d to every HTTP request addressed to the canister, on top of the server's
// latency. A query verified by agent-go itself is two requests (query and the ["subnet"]
// read_state); pkg/ic's is one once its node-key cache is warm.
func (c *Canister) SetLatency(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.latency = d
}

func (c *Canister) behaviour() (Fault, time.Duration) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.fault, c.latency
}

// certified is what the state tree holds about a canister.
type certified struct {
	moduleHash             []byte // nil: empty
	controllers            []principal.Principal
	createdAt, installedAt time.Time // zero: absent
}

// state returns the certified facts.
func (c *Canister) state() certified {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return certified{c.moduleHash, c.controllers, c.createdAt, c.installedAt}
}

// query runs method and returns the Candid reply or a reject. A handler that panics (or whose
// values candid.Marshal cannot encode) traps, as a canister would.
func (c *Canister) query(method string, arg []byte) (reply []byte, rej *Reject) {
	defer func() {
		if p := recover(); p != nil {
			reply, rej = nil, &Reject{Code: RejectCanisterError, ErrorCode: "IC0503",
				Message: fmt.Sprintf("Error from Canister %s: Canister trapped: %v", c.id, p)}
		}
	}()
	c.mu.RLock()
	h, ok := c.methods[method]
	empty := c.moduleHash == nil
	c.mu.RUnlock()
	switch {
	case empty:
		return nil, &Reject{Code: RejectDestinationInvalid, ErrorCode: "IC0537",
			Message: fmt.Sprintf("Attempted to execute a message, but the canister contains no Wasm module. Canister: %s", c.id)}
	case !ok:
		return nil, &Reject{Code: RejectDestinationInvalid, ErrorCode: "IC0536",
			Message: fmt.Sprintf("Error from Canister %s: Canister has no query method '%s'.", c.id, method)}
	}
	values, err := h(arg)
	var handlerRej *Reject
	switch {
	case errors.As(err, &handlerRej):
		return nil, handlerRej
	case err != nil:
		return nil, &Reject{Code: RejectCanisterError, ErrorCode: "IC0503",
			Message: fmt.Sprintf("Error from Canister %s: Canister called `ic0.trap` with message: %v", c.id, err)}
	}
	if values == nil {
		values = []any{}
	}
	out, err := candid.Marshal(values)
	if err != nil {
		return nil, &Reject{Code: RejectCanisterError, ErrorCode: "IC0503",
			Message: fmt.Sprintf("Error from Canister %s: reply encoding failed: %v", c.id, err)}
	}
	return out, nil
}
