package ws

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"canistry/pkg/registry"
)

// maxFilterLen caps a filter value (a principal is at most 63 characters).
const maxFilterLen = 100

// message is one event, encoded once for all clients, with the fields filters look at.
type message struct {
	id       int64
	event    string
	token    string // data.token_id
	miner    string // the outcall's miner_id, or data.miner_id
	canister string // data.canister_id (registry events)
	frame    []byte // the whole WebSocket frame, encoded once for every client
}

func newMessage(e registry.Event) (*message, error) {
	if len(e.Data) == 0 {
		e.Data = json.RawMessage(`{}`)
	}
	b, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	var d struct {
		TokenID    any `json:"token_id"`
		MinerID    any `json:"miner_id"`
		CanisterID any `json:"canister_id"`
	}
	_ = json.Unmarshal(e.Data, &d) // data that is not an object simply matches no id filter
	m := &message{id: e.ID, event: e.Event, token: str(d.TokenID), miner: e.MinerID, canister: str(d.CanisterID), frame: textFrame(b)}
	if m.miner == "" {
		m.miner = str(d.MinerID)
	}
	return m, nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// filter is what a client asked for; empty parts match everything.
type filter struct {
	events map[string]bool
	token  string
	miner  string
}

// match reports whether m passes every filter the client set. ?token= and ?miner= also match
// registry events about that canister (data.canister_id).
func (f *filter) match(m *message) bool {
	if f.events != nil && !f.events[m.event] {
		return false
	}
	if f.token != "" && m.token != f.token && m.canister != f.token {
		return false
	}
	if f.miner != "" && m.miner != f.miner && m.canister != f.miner {
		return false
	}
	return true
}

// request is a parsed /ws query.
type request struct {
	filter filter
	since  int64
	replay bool
}

func parseRequest(q url.Values, replayable bool) (request, error) {
	var r request
	if v := q.Get("events"); v != "" {
		r.filter.events = map[string]bool{}
		for _, e := range strings.Split(v, ",") {
			if e = strings.TrimSpace(e); e != "" {
				r.filter.events[e] = true
			}
		}
	}
	r.filter.token, r.filter.miner = q.Get("token"), q.Get("miner")
	if len(r.filter.token) > maxFilterLen || len(r.filter.miner) > maxFilterLen {
		return request{}, registry.Errorf(registry.EINVALID, "token and miner must be canister ids")
	}
	if v := q.Get("since"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return request{}, registry.Errorf(registry.EINVALID, "since must be an event id (a whole number ≥ 0)")
		}
		if !replayable {
			return request{}, registry.Errorf(registry.EUNAVAILABLE, "replay is not available on this server")
		}
		r.since, r.replay = n, true
	}
	return r, nil
}

// checkOrigin accepts requests without Origin (not a browser), the server's own host (also as
// forwarded by a reverse proxy in X-Forwarded-Host, which a browser cannot set on a WebSocket
// handshake), and the configured origins.
func (h *Hub) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	if fwd := forwardedHost(r); fwd != "" && strings.EqualFold(u.Host, fwd) { // only from TRUSTED_PROXIES
		return true
	}
	for _, a := range h.cfg.AllowedOrigins {
		if a == "*" || strings.EqualFold(strings.TrimRight(a, "/"), origin) {
			return true
		}
	}
	return false
}
