package notify

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"canistry/pkg/registry"
)

// Limits of a notification.
const (
	// MaxBodyBytes is the largest body accepted; a larger one is answered 413.
	MaxBodyBytes = 64 << 10
	// MaxEventLen is the longest event name.
	MaxEventLen = 64
	// MaxIdempotencyKeyLen is the longest Idempotency-Key header value.
	MaxIdempotencyKeyLen = 200
)

// Notification is a parsed and validated outcall body:
// {"event", "miner_id", "timestamp" (IC time, ns), "data": {…}}.
type Notification struct {
	Event     string
	MinerID   registry.CanisterID
	Timestamp uint64          // IC time in nanoseconds, 1 … 2^63-1
	Data      json.RawMessage // a JSON object exactly as received; {} when absent or null
}

// ParseNotification decodes and validates a notification body. Every error is an EINVALID
// *registry.Error whose message depends only on body, so that every replica copy of a bad
// request gets the same answer. Unknown top-level fields are ignored (newer miners may add
// some); unknown events are accepted and passed through. A key repeated in one object, at any
// depth, is refused (registry.CheckUniqueKeys): copies must not be read two ways. A body that is not valid UTF-8 is
// refused (RFC 8259 §8.1): its bytes would be stored and sent in WebSocket text frames, which
// browsers close the connection over.
func ParseNotification(body []byte) (Notification, error) {
	if off := invalidUTF8(body); off >= 0 {
		return Notification{}, registry.Errorf(registry.EINVALID, "body is not valid UTF-8 (invalid byte at offset %d)", off)
	}
	var raw struct {
		Event     json.RawMessage `json:"event"`
		MinerID   json.RawMessage `json:"miner_id"`
		Timestamp json.RawMessage `json:"timestamp"`
		Data      json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return Notification{}, registry.Errorf(registry.EINVALID, "body is not valid JSON (offset %d): %s", syn.Offset, syn.Error())
		}
		return Notification{}, registry.Errorf(registry.EINVALID, "body must be a JSON object with event, miner_id, timestamp and data")
	}
	if err := registry.CheckUniqueKeys(body); err != nil {
		return Notification{}, err
	}
	var n Notification
	var err error
	if n.Event, err = parseEvent(raw.Event); err != nil {
		return Notification{}, err
	}
	if n.MinerID, err = parseMiner(raw.MinerID); err != nil {
		return Notification{}, err
	}
	if n.Timestamp, err = parseTimestamp(raw.Timestamp); err != nil {
		return Notification{}, err
	}
	if n.Data, err = parseData(raw.Data); err != nil {
		return Notification{}, err
	}
	return n, nil
}

// invalidUTF8 returns the offset of the first byte that is not part of a valid UTF-8 sequence,
// or -1.
func invalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return -1
}

func missing(v json.RawMessage) bool { return len(v) == 0 || string(v) == "null" }

func parseString(v json.RawMessage, field string) (string, error) {
	if missing(v) {
		return "", registry.Errorf(registry.EINVALID, "field %s is required", field)
	}
	if s, ok := plainString(v); ok {
		return s, nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", registry.Errorf(registry.EINVALID, "field %s must be a string", field)
	}
	return s, nil
}

// plainString returns the text of v, a JSON value of a body already decoded once (valid JSON
// and UTF-8), when v is a string without escapes: then its text is the bytes between its quotes,
// exactly what json.Unmarshal would return, without the decoder's second scan.
func plainString(v json.RawMessage) (string, bool) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' || bytes.IndexByte(v[1:len(v)-1], '\\') >= 0 {
		return "", false
	}
	return string(v[1 : len(v)-1]), true
}

// parseEvent accepts dot-separated words of letters, digits, '_' and '-', so that the name is
// a safe NATS subject suffix (canistry.events.<event>).
func parseEvent(v json.RawMessage) (string, error) {
	s, err := parseString(v, "event")
	if err != nil {
		return "", err
	}
	if s == "" || len(s) > MaxEventLen {
		return "", registry.Errorf(registry.EINVALID, "field event must have 1 to %d characters", MaxEventLen)
	}
	for _, word := range strings.Split(s, ".") {
		if word == "" {
			return "", registry.Errorf(registry.EINVALID, "field event %q has an empty dot-separated part", s)
		}
		for _, c := range []byte(word) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
				return "", registry.Errorf(registry.EINVALID, "field event %q may only contain letters, digits, '_', '-' and '.'", s)
			}
		}
	}
	return s, nil
}

func parseMiner(v json.RawMessage) (registry.CanisterID, error) {
	s, err := parseString(v, "miner_id")
	if err != nil {
		return "", err
	}
	id, err := principals.parse(s)
	if err != nil {
		return "", registry.Errorf(registry.EINVALID, "field miner_id %.70q is not a principal in canonical text form", s)
	}
	return id, nil
}

// parseTimestamp accepts a JSON integer (no sign, fraction or exponent) that fits SQLite's
// signed INTEGER: IC time in ns reaches 2^63 in the year 2262.
func parseTimestamp(v json.RawMessage) (uint64, error) {
	if missing(v) {
		return 0, registry.Errorf(registry.EINVALID, "field timestamp is required")
	}
	if len(v) > 19 || bytes.IndexFunc(v, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return 0, registry.Errorf(registry.EINVALID, "field timestamp must be a whole number of nanoseconds")
	}
	ts, err := strconv.ParseUint(string(v), 10, 63)
	if err != nil || ts == 0 {
		return 0, registry.Errorf(registry.EINVALID, "field timestamp must be a whole number of nanoseconds from 1 to 2^63-1")
	}
	return ts, nil
}

func parseData(v json.RawMessage) (json.RawMessage, error) {
	if missing(v) {
		return json.RawMessage(`{}`), nil
	}
	if v[0] != '{' {
		return nil, registry.Errorf(registry.EINVALID, "field data must be a JSON object")
	}
	return v, nil
}

// DedupKey returns the key that identifies all copies of one notification: the
// Idempotency-Key header when the miner sent one, else "miner_id:timestamp:event".
func DedupKey(idempotencyKey string, n *Notification) (string, error) {
	if idempotencyKey == "" {
		return string(n.MinerID) + ":" + strconv.FormatUint(n.Timestamp, 10) + ":" + n.Event, nil
	}
	if len(idempotencyKey) > MaxIdempotencyKeyLen {
		return "", registry.Errorf(registry.EINVALID, "header Idempotency-Key is longer than %d bytes", MaxIdempotencyKeyLen)
	}
	for _, c := range []byte(idempotencyKey) {
		if c < 0x21 || c > 0x7e {
			return "", registry.Errorf(registry.EINVALID, "header Idempotency-Key must be printable ASCII without spaces")
		}
	}
	return "idem:" + idempotencyKey, nil
}

// tokenID returns data.token_id when it is valid principal text.
func tokenID(data json.RawMessage) (registry.CanisterID, bool) {
	var d struct {
		TokenID string `json:"token_id"`
	}
	if json.Unmarshal(data, &d) != nil || d.TokenID == "" {
		return "", false
	}
	id, err := principals.parse(d.TokenID)
	return id, err == nil
}

// maxPrincipals bounds the principal texts remembered as valid; when full it starts again.
const maxPrincipals = 4096

// principals remembers the principal texts registry.ParseCanisterID accepted (miner and token
// ids: few, each sent again and again), so that a known one is not decoded and re-encoded on
// every request. Only accepted texts are kept, so the answer for any text is unchanged.
var principals = &principalSet{m: make(map[string]struct{})}

type principalSet struct {
	mu sync.RWMutex
	m  map[string]struct{}
}

func (p *principalSet) parse(s string) (registry.CanisterID, error) {
	p.mu.RLock()
	_, ok := p.m[s]
	p.mu.RUnlock()
	if ok {
		return registry.CanisterID(s), nil
	}
	id, err := registry.ParseCanisterID(s)
	if err != nil {
		return "", err
	}
	p.mu.Lock()
	if len(p.m) >= maxPrincipals {
		clear(p.m)
	}
	p.m[s] = struct{}{}
	p.mu.Unlock()
	return id, nil
}
