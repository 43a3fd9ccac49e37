package ictest

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/fxamacker/cbor/v2"
)

// handleCall serves the synchronous update calls, POST /api/v3/canister/{id}/call (agent-js
// 3.x) and /api/v4/canister/{id}/call (@icp-sdk/core 6.x, agent-go): the method runs at once
// (the IC lets an update call run a query method, and every method of the double reads only)
// and the answer is {status: "replied", certificate} whose tree holds
// /request_status/<request id>/{status, reply | reject_code, reject_message, error_code} and
// /time. The delegation certifies the canister ranges in the layout of the version: legacy on
// v3, sharded on v4. A call to a canister that does not exist is refused before execution, as
// a non-replicated rejection. The asynchronous /api/v2 call (answered 202, then polled through
// read_state) is not served; agents fall back to it only when v3/v4 answer 404.
func (s *Server) handleCall(w http.ResponseWriter, r *http.Request) {
	cr, ok := s.readCanisterRequest(w, r, RequestCall)
	if !ok {
		return
	}
	var body []byte
	var err error
	if cr.c == nil {
		body, err = cbor.Marshal(map[string]any{"status": "non_replicated_rejection",
			"reject_code": RejectDestinationInvalid, "error_code": "IC0301",
			"reject_message": fmt.Sprintf("Canister %s not found", cr.ecid)})
	} else {
		body, err = s.callResponse(r, cr.req, cr.c, cr.fault)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeCBOR(w, body)
}

// callResponse runs the call and certifies its outcome.
func (s *Server) callResponse(r *http.Request, req request, c *Canister, fault Fault) ([]byte, error) {
	arg, rej := c.query(req.MethodName, req.Arg)
	if rej == nil && fault == FaultMalformedReply {
		arg = malformedCandid
	}
	now := s.now()
	rid := string(req.id[:])
	state := newTree()
	state.put(certTime(certifiedTime(now, fault)), "time")
	if rej == nil {
		state.put([]byte("replied"), "request_status", rid, "status")
		state.put(arg, "request_status", rid, "reply")
	} else {
		state.put([]byte("rejected"), "request_status", rid, "status")
		state.put(leb(uint64(rej.Code)), "request_status", rid, "reject_code")
		state.put([]byte(rej.Message), "request_status", rid, "reject_message")
		state.put([]byte(rej.ErrorCode), "request_status", rid, "error_code")
	}
	l := layoutSharded
	if strings.HasPrefix(r.URL.Path, "/api/v3/") {
		l = layoutLegacy
	}
	cert, err := s.subnet.certificate(state.hashTree(), fault, l, now)
	if err != nil {
		return nil, err
	}
	return cbor.Marshal(map[string]any{"status": "replied", "certificate": cert})
}
