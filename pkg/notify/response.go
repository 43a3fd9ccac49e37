package notify

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"

	"canistry/pkg/httperror"
	"canistry/pkg/registry"
)

// response is everything the intake sends back. Its bytes on the wire depend on status and
// body only: the headers are always exactly Content-Length and Content-Type (plus Allow on a
// 405), never Date, cookies, request ids or timing.
type response struct {
	status int
	body   []byte
	allow  bool // add "Allow: POST" (405 only)
}

// write sends r. Setting Header()["Date"] to nil is how net/http is told not to add its own
// Date header (see http.ResponseWriter.Header), which would differ between replica copies.
func (r response) write(w http.ResponseWriter) {
	h := w.Header()
	for k := range h {
		delete(h, k)
	}
	h["Date"] = nil
	h["Content-Type"] = []string{"application/json"}
	h["Content-Length"] = []string{strconv.Itoa(len(r.body))}
	if r.allow {
		h["Allow"] = []string{http.MethodPost}
	}
	w.WriteHeader(r.status)
	_, _ = w.Write(r.body)
}

// acceptedBody is the reply to every copy of an accepted notification: a function of the dedup
// key alone, so it can be computed before the claim is stored and replayed to any copy, by any
// process, for the whole window.
func acceptedBody(key string) []byte {
	sum := sha256.Sum256([]byte(key))
	b := make([]byte, 0, 100)
	b = append(b, `{"status":"received","dedup_key_sha256":"`...)
	b = hex.AppendEncode(b, sum[:])
	return append(b, `"}`...)
}

// unavailableMessage is the message of the one reply to a copy the server could not decide.
const unavailableMessage = "the notification could not be stored right now; nothing was recorded, retry later"

// UnavailableReply is the status and body every copy gets when the server cannot decide it (the
// database is unreachable or slow, or an internal error): 503 in the one error shape, with the
// same bytes whatever the cause. A load balancer in front of several notifiers should answer
// POST /miner-notifications with exactly this (status, Content-Type: application/json,
// Content-Length, body, no other header) when it has no notifier to send a copy to, so that
// copies it answers itself match those a notifier answers (README gives it as an haproxy
// errorfile; scripts/cluster writes one from this function).
func UnavailableReply() (int, []byte) {
	return http.StatusServiceUnavailable, httperror.Encode(registry.Errorf(registry.EUNAVAILABLE, "%s", unavailableMessage))
}
