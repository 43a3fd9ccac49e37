package registry

import "time"

// The error codes of the outcall relay's stored failure replies (502 or 504). Each is one
// stored, deterministic reply for its key: every copy of the call gets the same bytes, and the
// canister retries with a new key.
const (
	EUpstreamUnreachable    = "upstream_unreachable"     // 502: no connection (refused, no route, DNS)
	EUpstreamForbidden      = "upstream_forbidden"       // 502: the address is not public (dial rules)
	EUpstreamTimeout        = "upstream_timeout"         // 504: no complete reply within the route's timeout
	EUpstreamTLS            = "upstream_tls"             // 502: the TLS handshake or certificate failed
	EUpstreamRedirect       = "upstream_redirect"        // 502: a redirect, never followed
	EUpstreamTooLarge       = "upstream_too_large"       // 502: the reply is over max_response_bytes
	EUpstreamFailed         = "upstream_failed"          // 502: the reply broke off or another failure
	EUpstreamOutcomeUnknown = "upstream_outcome_unknown" // 502: the executing notifier died mid-call
)

// RelayOK is the result of a relay call the upstream answered (any status).
const RelayOK = "ok"

// The states of a relay call.
const (
	RelayRunning = "running"
	RelayDone    = "done"
)

// RelayHeader is one header of a stored relay reply.
type RelayHeader struct {
	Name, Value string
}

// RelayReply is a relay call's stored reply: every copy of its key gets exactly these bytes
// (status line, Content-Length, these headers in order, the body; nothing else).
type RelayReply struct {
	Status  int
	Headers []RelayHeader
	Body    []byte
}

// RelayCall is one upstream call of the relay (or one stored refusal of a key).
type RelayCall struct {
	ID          int64
	Route       string
	Method      string
	Path        string // the upstream path and query, below the route's base
	KeyHash     string // sha256 of route, caller and key
	Fingerprint string // sha256 of the first copy's method, path, query, forwarded headers, body
	State       string // RelayRunning or RelayDone
	Owner       string // the notifier process executing (or that executed) it
	LeaseUntil  time.Time
	Attempts    int // upstream calls made for it (a GET re-run after a crash makes 2)
	StartedAt   time.Time
	FinishedAt  time.Time // zero while running
	// Result is RelayOK, one of the EUpstream… codes, or ETOOMANY for a refused key.
	Result         string
	UpstreamStatus int // 0 when no reply came
	Duration       time.Duration
	Copies         int
	CopiesIPv4     int
	CopiesIPv6     int
	Diverged       bool
	Reply          RelayReply
}

// RelayCallFilter selects relay calls for the listing.
type RelayCallFilter struct {
	Route string // "" for any
	Page  Page
}
