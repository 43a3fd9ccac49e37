// Package httperror is the one place where an error becomes an HTTP reply: the map from
// registry error codes to HTTP statuses, and the one JSON error body,
// {"error":{"code":"…","message":"…"}}, with the one 405 (MethodNotAllowed). Every HTTP-facing
// package (httpapi, notify, ws, httpserver) answers errors through it and writes no error body
// of its own.
package httperror

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"canistry/pkg/registry"
)

// MaxMessageLen caps an error message, so that every error reply stays far below an outcall's
// max_response_bytes of 1024 (headers included).
const MaxMessageLen = 300

// Status is the one map from an error's registry code to its HTTP status. Anything without a
// known code is internal: 500.
func Status(err error) int {
	switch registry.ErrorCode(err) {
	case registry.EINVALID:
		return http.StatusBadRequest
	case registry.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case registry.EFORBIDDEN:
		return http.StatusForbidden
	case registry.ENOTFOUND:
		return http.StatusNotFound
	case registry.ECONFLICT:
		return http.StatusConflict
	case registry.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case registry.EUNSUPPORTED:
		return http.StatusUnsupportedMediaType
	case registry.ETOOMANY:
		return http.StatusTooManyRequests
	case registry.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// Detail is the inside of Body: the code and the client-safe message.
type Detail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Body is the one JSON error shape, for documents and tests that decode it.
type Body struct {
	Error Detail `json:"error"`
}

// New returns the Body of err: its registry code and client-safe message (internal errors
// read "internal error"), the message capped at MaxMessageLen bytes on a rune boundary.
func New(err error) Body {
	msg := registry.ErrorMessage(err)
	if len(msg) > MaxMessageLen {
		cut := MaxMessageLen
		for cut > 0 && msg[cut]&0xc0 == 0x80 {
			cut--
		}
		msg = msg[:cut] + "…"
	}
	return Body{Error: Detail{Code: registry.ErrorCode(err), Message: strings.ToValidUTF8(msg, "\uFFFD")}}
}

// Encode returns the JSON bytes of err's Body. Its bytes depend on err only, so replica copies
// of one bad outcall get identical bodies.
func Encode(err error) []byte {
	b, mErr := json.Marshal(New(err))
	if mErr != nil { // unreachable: strings only
		return []byte(`{"error":{"code":"internal","message":"internal error"}}`)
	}
	return b
}

// Write answers err with its status and body, with exactly Content-Type and Content-Length
// set (nothing else the handler set before stays).
func Write(w http.ResponseWriter, err error) {
	WriteStatus(w, Status(err), err)
}

// WriteStatus is Write with a status the map cannot give: 405 (code invalid, with Allow set by
// MethodNotAllowed) and 502 from a proxy. Every other reply uses Write.
func WriteStatus(w http.ResponseWriter, status int, err error) {
	b := Encode(err)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// MethodNotAllowed answers 405 with Allow set to allowed, in every binary the same way: code
// invalid (there is no separate code for it) and a message naming the allowed methods.
func MethodNotAllowed(w http.ResponseWriter, method string, allowed ...string) {
	list := strings.Join(allowed, ", ")
	w.Header().Set("Allow", list)
	WriteStatus(w, http.StatusMethodNotAllowed, MethodError(method, allowed...))
}

// MethodError is the error of a 405: "method X is not allowed; use A, B".
func MethodError(method string, allowed ...string) error {
	return registry.Errorf(registry.EINVALID, "method %s is not allowed; use %s", method, strings.Join(allowed, ", "))
}

// Reply answers err like Write; an internal error is logged here, once, where it ends up (the
// client sees only "internal error").
func Reply(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	if registry.ErrorCode(err) == registry.EINTERNAL {
		logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	Write(w, err)
}
