package httpapi

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"canistry/pkg/registry"
)

// The outcall relay's log (admin only: paths and replies may carry what callers sent their
// upstreams). The notifier relays (pkg/relay) and writes relay_calls; the api, which serves
// every other read of the store and holds the admin key and its lockout, lists them. The api's
// proxy sends every other /relay/… path to the notifier (isNotifierPath), so the one origin
// serves both.

// mountRelay adds the relay's admin routes.
func mountRelay(r gin.IRoutes, a *api, admin gin.HandlerFunc) {
	r.GET("/relay/calls", admin, a.listRelayCalls)
	r.GET("/relay/calls/:id", admin, a.getRelayCall)
}

// relayCallJSON is one relay call as listed.
type relayCallJSON struct {
	ID             int64          `json:"id"`
	Route          string         `json:"route"`
	Method         string         `json:"method"`
	Path           string         `json:"path"`
	KeyHash        string         `json:"key_hash"`
	State          string         `json:"state"`
	Result         string         `json:"result"`
	UpstreamStatus int            `json:"upstream_status"`
	DurationMs     int64          `json:"duration_ms"`
	Attempts       int            `json:"attempts"`
	Copies         int            `json:"copies"`
	Diverged       bool           `json:"diverged"`
	SourceFamilies map[string]int `json:"source_families"`
	StartedAt      string         `json:"started_at"`
	FinishedAt     *string        `json:"finished_at"`
	ResponseStatus int            `json:"response_status"`
}

// relayHeaderJSON is one header of a stored reply.
type relayHeaderJSON struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// relayCallDetailJSON adds the stored reply every copy got and the first copy's fingerprint.
type relayCallDetailJSON struct {
	relayCallJSON
	Fingerprint     string            `json:"fingerprint"`
	ResponseHeaders []relayHeaderJSON `json:"response_headers"`
	ResponseBody    string            `json:"response_body"`
}

func toRelayCallJSON(c *registry.RelayCall) relayCallJSON {
	var finished *string
	if !c.FinishedAt.IsZero() {
		s := rfc3339(c.FinishedAt)
		finished = &s
	}
	return relayCallJSON{ID: c.ID, Route: c.Route, Method: c.Method, Path: strings.ToValidUTF8(c.Path, "\uFFFD"), KeyHash: c.KeyHash,
		State: c.State, Result: c.Result, UpstreamStatus: c.UpstreamStatus, DurationMs: c.Duration.Milliseconds(), Attempts: c.Attempts,
		Copies: c.Copies, Diverged: c.Diverged, SourceFamilies: map[string]int{"ipv4": c.CopiesIPv4, "ipv6": c.CopiesIPv6},
		StartedAt: rfc3339(c.StartedAt), FinishedAt: finished, ResponseStatus: c.Reply.Status}
}

var relayRouteName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

func (a *api) listRelayCalls(c *gin.Context) {
	q := newQuery(c, "limit", "cursor", "order", "route")
	f := registry.RelayCallFilter{Route: c.Query("route"), Page: q.page(c.Query("order") != "asc")} // newest first
	if f.Route != "" && !relayRouteName.MatchString(f.Route) {
		q.fail("route must be a route name (lower-case letters, digits, '-', '_'), not %.70q", f.Route)
	}
	if q.err != nil {
		a.werr(c, q.err)
		return
	}
	page, err := a.d.Store.ListRelayCalls(c.Request.Context(), f)
	if err != nil {
		a.werr(c, err)
		return
	}
	c.JSON(http.StatusOK, newList(page.Items, page.Next, page.Total, f.Page.Limit, toRelayCallJSON))
}

func (a *api) getRelayCall(c *gin.Context) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 || c.Param("id")[0] == '+' {
		a.werr(c, registry.Errorf(registry.EINVALID, "relay call id must be a whole number ≥ 1, not %.40q", c.Param("id")))
		return
	}
	if q := newQuery(c); q.err != nil {
		a.werr(c, q.err)
		return
	}
	call, err := a.d.Store.RelayCall(c.Request.Context(), id)
	if err != nil {
		a.werr(c, err)
		return
	}
	hs := make([]relayHeaderJSON, len(call.Reply.Headers))
	for i, h := range call.Reply.Headers {
		hs[i] = relayHeaderJSON{Name: h.Name, Value: strings.ToValidUTF8(h.Value, "\uFFFD")}
	}
	body := string(call.Reply.Body)
	if !utf8.ValidString(body) {
		body = strings.ToValidUTF8(body, "\uFFFD")
	}
	c.JSON(http.StatusOK, relayCallDetailJSON{relayCallJSON: toRelayCallJSON(&call), Fingerprint: call.Fingerprint,
		ResponseHeaders: hs, ResponseBody: body})
}
