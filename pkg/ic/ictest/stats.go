package ictest

import (
	"bytes"
	"sync/atomic"
)

// Request kinds counted by Server.Requests.
const (
	// RequestStatus counts GET /api/v2/status.
	RequestStatus = "status"
	// RequestQuery counts POST .../query, whatever their outcome.
	RequestQuery = "query"
	// RequestReadState counts POST .../read_state, whatever their outcome.
	RequestReadState = "read_state"
	// RequestCall counts POST .../call (update calls), whatever their outcome.
	RequestCall = "call"
	// RequestSubnetState counts the read_state requests that ask for the ["subnet"] path (the
	// node keys that signed-query verification needs). Only requests the double decoded are
	// counted: one answered by an HTTP fault is in RequestReadState alone.
	RequestSubnetState = "read_state:subnet"
)

// stats counts requests by kind.
type stats struct {
	status, query, readState, subnetState, call atomic.Int64
}

// counter returns the counter of kind, or nil for an unknown kind.
func (s *stats) counter(kind string) *atomic.Int64 {
	switch kind {
	case RequestStatus:
		return &s.status
	case RequestQuery:
		return &s.query
	case RequestReadState:
		return &s.readState
	case RequestSubnetState:
		return &s.subnetState
	case RequestCall:
		return &s.call
	}
	return nil
}

// Requests returns how many requests of kind (RequestStatus, RequestQuery, RequestReadState,
// RequestSubnetState or RequestCall) the server has received since it started; 0 for an unknown kind. Tests
// use it to see what a client actually sent, e.g. that node keys come from a cache.
func (s *Server) Requests(kind string) int64 {
	if c := s.stats.counter(kind); c != nil {
		return c.Load()
	}
	return 0
}

// count adds one request of kind.
func (s *Server) count(kind string) { s.stats.counter(kind).Add(1) }

// asksForSubnet reports whether a read_state asks for the whole ["subnet"] subtree.
func asksForSubnet(paths [][][]byte) bool {
	for _, p := range paths {
		if len(p) == 1 && bytes.Equal(p[0], []byte("subnet")) {
			return true
		}
	}
	return false
}
