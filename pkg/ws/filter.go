package ws

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"canistry/pkg/registry"
)

// message is one event, encoded once for all clients, with the fields filters look at.
type message struct {
	id    int64
	keys  registry.EventKeys
	frame []byte // the whole WebSocket frame, encoded once for every client
}

func newMessage(e registry.Event) (*message, error) {
	if len(e.Data) == 0 {
		e.Data = json.RawMessage(`{}`)
	}
	b, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	return &message{id: e.ID, keys: registry.KeysOf(e), frame: textFrame(b)}, nil
}

// filter is what a client asked for (registry.EventFilter: the same names and meaning as a
// webhook's filters); empty parts match everything.
type filter struct {
	registry.EventFilter
}

// match reports whether m passes every filter the client set. ?token= and ?miner= also match
// registry events about that canister (data.canister_id).
func (f *filter) match(m *message) bool { return f.Match(&m.keys) }

// request is a parsed /ws query.
type request struct {
	filter filter
	since  registry.LogCursor
	last   int // replay the last this many logged events (?last=) instead of from since
	replay bool
}

// maxLast bounds ?last=.
const maxLast = 1000

// queryParams are the parameters /ws understands; any other is a 400, as on the REST api.
var queryParams = []string{"events", "token", "miner", "since", "last"}

// parseRequest validates a /ws query as the REST api validates its own: the raw query must
// decode (no invalid percent-encoding), every parameter must be known and given once, and
// every value must be well formed: events a comma-separated list of event names, token and
// miner canister ids, since a cursor ("<epoch>:<id>") or a bare event id. Problems are reported in a fixed order (by parameter
// name), so the same query always gets the same answer.
func parseRequest(rawQuery string, replayable bool) (request, error) {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return request{}, registry.Errorf(registry.EINVALID, "the query string is malformed: %s", queryProblem(err))
	}
	if err := checkQueryNames(q); err != nil {
		return request{}, err
	}
	var r request
	if v, ok := q["events"]; ok {
		r.filter.Events = map[string]bool{}
		for _, e := range strings.Split(v[0], ",") {
			e = strings.TrimSpace(e)
			if !registry.ValidEventName(e) {
				return request{}, registry.Errorf(registry.EINVALID,
					"events must be a comma-separated list of event names (dot-separated words of letters, digits, '_' and '-', at most %d characters), not %q", registry.MaxEventLen, v[0])
			}
			r.filter.Events[e] = true
		}
	}
	for _, p := range []struct {
		name string
		to   *string
	}{{"miner", &r.filter.Miner}, {"token", &r.filter.Token}} {
		v, ok := q[p.name]
		if !ok {
			continue
		}
		id, err := registry.ParseCanisterID(v[0])
		if err != nil {
			return request{}, registry.Errorf(registry.EINVALID, "%s: %s", p.name, registry.ErrorMessage(err))
		}
		*p.to = string(id)
	}
	if err := parseReplay(q, replayable, &r); err != nil {
		return request{}, err
	}
	return r, nil
}

// checkQueryNames refuses unknown and repeated query parameters, in name order.
func checkQueryNames(q url.Values) error {
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !slices.Contains(queryParams, name) {
			return registry.Errorf(registry.EINVALID, "unknown query parameter %q (allowed: %s)", name, strings.Join(queryParams, ", "))
		}
		if n := len(q[name]); n > 1 {
			return registry.Errorf(registry.EINVALID, "query parameter %q is given %d times", name, n)
		}
	}
	return nil
}

// parseReplay reads ?since= and ?last= into r.
func parseReplay(q url.Values, replayable bool, r *request) error {
	if v, ok := q["since"]; ok {
		cur, err := registry.ParseLogCursor(v[0])
		if err != nil {
			return err
		}
		if !replayable {
			return registry.Errorf(registry.EUNAVAILABLE, "replay is not available on this server")
		}
		r.since, r.replay = cur, true
	}
	if v, ok := q["last"]; ok {
		n, err := strconv.Atoi(v[0])
		if err != nil || n < 1 || n > maxLast || v[0][0] == '+' {
			return registry.Errorf(registry.EINVALID, "last must be a number of events from 1 to %d, not %q", maxLast, v[0])
		}
		if r.replay {
			return registry.Errorf(registry.EINVALID, "give since or last, not both")
		}
		if !replayable {
			return registry.Errorf(registry.EUNAVAILABLE, "replay is not available on this server")
		}
		r.last, r.replay = n, true
	}
	return nil
}

// queryProblem describes a url.ParseQuery error without Go's package prefix.
func queryProblem(err error) string {
	var esc url.EscapeError
	if errors.As(err, &esc) {
		return fmt.Sprintf("invalid percent-encoding %q", string(esc))
	}
	return err.Error()
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
	if fwd := forwardedHost(r, h.cfg.TrustedProxies); fwd != "" && strings.EqualFold(u.Host, fwd) { // only from TRUSTED_PROXIES
		return true
	}
	for _, a := range h.cfg.AllowedOrigins {
		if a == "*" || strings.EqualFold(strings.TrimRight(a, "/"), origin) {
			return true
		}
	}
	return false
}
