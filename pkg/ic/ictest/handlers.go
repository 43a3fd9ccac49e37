package ictest

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aviate-labs/agent-go/certification"
	"github.com/aviate-labs/agent-go/principal"
	"github.com/fxamacker/cbor/v2"
)

// malformedCandid is what FaultMalformedReply answers: the magic and a type table cut short.
var malformedCandid = []byte("DIDL\x01\x6c\x02")

// handleStatus serves GET /api/v2/status as a replica answers it: a self-described CBOR map
// with the interface version, the implementation, the health, the last certified height and
// the root key (which only a development instance serves; mainnet's is built into agents).
func (s *Server) handleStatus(w http.ResponseWriter, _ *http.Request) {
	s.count(RequestStatus)
	body, err := cbor.Marshal(map[string]any{
		"root_key":              s.subnet.rootDER,
		"ic_api_version":        "0.18.0",
		"impl_version":          "canistry-ictest",
		"replica_health_status": "healthy",
		"certified_height":      uint64(s.now().UnixNano() / int64(certWindow)),
	})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeCBOR(w, body)
}

// canisterRequest is a query or call as read by readCanisterRequest.
type canisterRequest struct {
	req   request
	ecid  principal.Principal // the effective canister id of the path
	c     *Canister           // nil when no such canister exists
	fault Fault
	now   time.Time
}

// readCanisterRequest is the common start of a query and a call (kind RequestQuery or
// RequestCall): it counts the request, resolves the effective canister id from the path, applies
// that canister's fault and latency, reads the signed envelope of that kind, and checks that it
// names the same canister. ok is false when a reply has been written already.
func (s *Server) readCanisterRequest(w http.ResponseWriter, r *http.Request, kind string) (canisterRequest, bool) {
	s.count(kind)
	ecid, err := pathID(r)
	if err != nil {
		s.badRequest(w, r, err)
		return canisterRequest{}, false
	}
	c, fault, latency := s.lookup(ecid)
	if !s.delay(w, r, fault, latency) {
		return canisterRequest{}, false
	}
	now := s.now()
	req, err := readRequest(r, kind, now)
	if err != nil {
		s.badRequest(w, r, err)
		return canisterRequest{}, false
	}
	// A query to the management canister (aaaaa-aa, the empty principal) is addressed to the
	// canister it is about: its effective canister id (interface spec 0.51.0, canister_status
	// as a query).
	mgmt := kind == RequestQuery && len(req.CanisterID) == 0
	if !mgmt && !bytes.Equal(req.CanisterID, ecid.Raw) {
		s.badRequest(w, r, fmt.Errorf("canister_id %s does not match the effective canister id %s",
			principal.Principal{Raw: req.CanisterID}, ecid))
		return canisterRequest{}, false
	}
	return canisterRequest{req: req, ecid: ecid, c: c, fault: fault, now: now}, true
}

// handleQuery serves POST /api/v{2,3}/canister/{id}/query (agent-js 3.x and agent-go use v2,
// @icp-sdk/core 6.x v3; the request and the signed reply are the same on both): it runs the method and answers with a
// reply or reject signed by one of the subnet's nodes.
func (s *Server) handleQuery(w http.ResponseWriter, r *http.Request) {
	cr, ok := s.readCanisterRequest(w, r, RequestQuery)
	if !ok {
		return
	}
	var (
		arg []byte
		rej *Reject
	)
	switch {
	case cr.c == nil:
		rej = &Reject{Code: RejectDestinationInvalid, ErrorCode: "IC0301",
			Message: fmt.Sprintf("Canister %s not found", cr.ecid)}
	case len(cr.req.CanisterID) == 0:
		arg, rej = managementQuery(cr.c, cr.req.MethodName, cr.req.Arg)
	default:
		arg, rej = cr.c.query(cr.req.MethodName, cr.req.Arg)
	}
	if rej == nil && cr.fault == FaultMalformedReply {
		arg = malformedCandid
	}
	body, err := s.queryResponse(cr.req.id, arg, rej, cr.now, cr.fault)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeCBOR(w, body)
}

// queryResponse encodes a query reply or reject with one node signature over
// \x0Bic-response‖hash_of_map(response, timestamp, request_id). A reject always carries
// error_code, which the signed map includes. The fault may spoil the signature
// (FaultBadNodeSignature), sign with a node outside the subnet (FaultUnknownNode) or leave it
// out (FaultNoSignature).
func (s *Server) queryResponse(rid [32]byte, arg []byte, rej *Reject, now time.Time, fault Fault) ([]byte, error) {
	ts := uint64(now.UnixNano())
	var resp map[string]any
	var signed []certification.KeyValuePair
	if rej == nil {
		reply := map[string]any{"arg": arg}
		resp = map[string]any{"status": "replied", "reply": reply}
		signed = []certification.KeyValuePair{
			{Key: "status", Value: "replied"}, {Key: "reply", Value: reply},
		}
	} else {
		resp = map[string]any{"status": "rejected", "reject_code": rej.Code,
			"reject_message": rej.Message, "error_code": rej.ErrorCode}
		signed = []certification.KeyValuePair{
			{Key: "status", Value: "rejected"}, {Key: "reject_code", Value: rej.Code},
			{Key: "reject_message", Value: rej.Message}, {Key: "error_code", Value: rej.ErrorCode},
		}
	}
	signed = append(signed,
		certification.KeyValuePair{Key: "timestamp", Value: ts},
		certification.KeyValuePair{Key: "request_id", Value: rid[:]})
	h, err := certification.RepresentationIndependentHash(signed)
	if err != nil {
		return nil, fmt.Errorf("hash response: %w", err)
	}
	if fault == FaultBadNodeSignature {
		h[0] ^= 0xff
	}
	n := s.nextSigner()
	if fault == FaultUnknownNode {
		n = s.subnet.stranger
	}
	if fault == FaultNoSignature {
		return cbor.Marshal(resp)
	}
	resp["signatures"] = []map[string]any{{
		"timestamp": ts,
		"signature": ed25519.Sign(n.key, append([]byte("\x0Bic-response"), h[:]...)),
		"identity":  n.id.Raw,
	}}
	return cbor.Marshal(resp)
}

// handleReadState serves POST /api/v{2,3}/canister/{id}/read_state: a certificate over /time
// and the requested paths, pruned to what was asked, signed by the subnet key with the root
// delegation attached — on v2 the delegation certifies the canister ranges in the legacy
// layout, on v3 in the sharded one, as the IC does.
func (s *Server) handleReadState(w http.ResponseWriter, r *http.Request) {
	s.count(RequestReadState)
	ecid, err := pathID(r)
	if err != nil {
		s.badRequest(w, r, err)
		return
	}
	c, fault, latency := s.lookup(ecid)
	if !s.delay(w, r, fault, latency) {
		return
	}
	now := s.now()
	req, err := readRequest(r, "read_state", now)
	if err != nil {
		s.badRequest(w, r, err)
		return
	}
	if asksForSubnet(req.Paths) {
		s.count(RequestSubnetState)
	}
	paths, status, msg := s.readStatePaths(req.Paths, ecid)
	if status != 0 {
		http.Error(w, msg, status)
		return
	}

	state := newTree()
	state.put(certTime(certifiedTime(now, fault)), "time")
	s.subnet.addSubnetState(state)
	if c != nil {
		if err := putCanisterState(state, c); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	}
	l := layoutSharded
	if strings.HasPrefix(r.URL.Path, "/api/v2/") {
		l = layoutLegacy
	}
	cert, err := s.subnet.certificate(state.prune(paths).hashTree(), fault, l, now)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	body, err := cbor.Marshal(map[string][]byte{"certificate": cert})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeCBOR(w, body)
}

// readStatePaths checks the requested paths as a replica does and returns them, with /time,
// as text labels; or the HTTP status and message of a refusal: a canister path of another
// canister than the effective one, or (as a replica before interface spec 0.66.0 refuses a path
// it does not know: dfinity/ic rs/http_endpoints/public/src/read_state/canister.rs,
// verify_paths) an install time path when the double serves no install times.
func (s *Server) readStatePaths(req [][][]byte, ecid principal.Principal) ([][]string, int, string) {
	installTimes := s.installTimesCertified()
	paths := make([][]string, 0, len(req)+1)
	for _, p := range req {
		sp := make([]string, len(p))
		for i, l := range p {
			sp[i] = string(l)
		}
		if len(sp) >= 2 && sp[0] == "canister" && sp[1] != string(ecid.Raw) {
			return nil, http.StatusForbidden, fmt.Sprintf("path %q is not for the effective canister %s", sp, ecid)
		}
		if !installTimes && len(sp) == 3 && sp[0] == "canister" && (sp[2] == "canister_creation_timestamp" || sp[2] == "last_install_timestamp") {
			return nil, http.StatusNotFound, "Invalid path requested."
		}
		paths = append(paths, sp)
	}
	return append(paths, []string{"time"}), 0, ""
}

// putCanisterState adds /canister/<id>/controllers (a self-described CBOR array of principal
// bytes), unless the canister is empty /canister/<id>/module_hash, and the paths of interface
// spec 0.66.0 that are known: canister_creation_timestamp and
// last_install_timestamp, natural numbers of nanoseconds since 1970, LEB128 as every natural
// in the state tree (spec, "Canister information" and "Encoding of certificates").
func putCanisterState(t *tree, c *Canister) error {
	st := c.state()
	mh, ctrls := st.moduleHash, st.controllers
	id := string(c.id.Raw)
	if !st.createdAt.IsZero() {
		t.put(leb(uint64(st.createdAt.UnixNano())), "canister", id, "canister_creation_timestamp")
	}
	if !st.installedAt.IsZero() && mh != nil {
		t.put(leb(uint64(st.installedAt.UnixNano())), "canister", id, "last_install_timestamp")
	}
	raw := make([][]byte, len(ctrls))
	for i, p := range ctrls {
		raw[i] = p.Raw
	}
	enc, err := cbor.Marshal(raw)
	if err != nil {
		return fmt.Errorf("encode controllers: %w", err)
	}
	t.put(append(append([]byte{}, selfDescribed...), enc...), "canister", id, "controllers")
	if mh != nil {
		t.put(mh, "canister", id, "module_hash")
	}
	return nil
}
