package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"canistry/pkg/config"
	"canistry/pkg/registry"
)

// MaxBodyBytes caps every request body of the api.
const MaxBodyBytes = 1 << 20

// cors marks a public read as readable from any origin.
func cors(c *gin.Context) {
	c.Header("Access-Control-Allow-Origin", "*")
	c.Header("Access-Control-Expose-Headers", "ETag, Link")
}

// preflight answers a CORS preflight of a public read.
func preflight(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Accept, Content-Type, If-None-Match")
	h.Set("Access-Control-Max-Age", "86400")
	c.AbortWithStatus(http.StatusNoContent)
}

// requireAdmin lets a write through only with "Authorization: Bearer <key>". Keys are compared
// as SHA-256 digests in constant time, so neither the content nor the length of the key leaks
// through timing; wrong keys are throttled per source (adminAuth).
func requireAdmin(key string, auth *adminAuth, werr func(*gin.Context, error)) gin.HandlerFunc {
	return func(c *gin.Context) {
		if key == "" {
			werr(c, registry.Errorf(registry.EUNAUTHORIZED, "writes are disabled until ADMIN_API_KEY is set on the server"))
			return
		}
		scheme, token, ok := strings.Cut(c.GetHeader("Authorization"), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			c.Header("WWW-Authenticate", `Bearer realm="canistry"`)
			werr(c, registry.Errorf(registry.EUNAUTHORIZED, "this write needs the header Authorization: Bearer <ADMIN_API_KEY>"))
			return
		}
		if ok, err := auth.check(c, key, "the bearer token is not the admin key"); !ok {
			werr(c, err)
			return
		}
		c.Next()
	}
}

// decodeJSON reads the request body (at most MaxBodyBytes) into v: exactly one JSON value,
// no unknown fields, no key twice in one object (registry.CheckUniqueKeys), nothing after it.
func decodeJSON(c *gin.Context, v any) error {
	if ct := c.GetHeader("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return registry.Errorf(registry.EUNSUPPORTED, "the body must be JSON (Content-Type: application/json), not %q", ct)
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, MaxBodyBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return registry.Errorf(registry.ETOOLARGE, "the body is larger than %d bytes", MaxBodyBytes)
	case err != nil:
		return registry.WrapError(registry.EINVALID, "could not read the body", err)
	case len(bytes.TrimSpace(body)) == 0:
		return registry.Errorf(registry.EINVALID, "the body is empty; a JSON object is required")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return registry.Errorf(registry.EINVALID, "invalid JSON body: %s", jsonProblem(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return registry.Errorf(registry.EINVALID, "invalid JSON body: data after the first JSON value")
	}
	return registry.CheckUniqueKeys(body)
}

// jsonProblem describes a decoding error without Go type names.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("syntax error at byte %d: %s", syn.Offset, syn.Error())
	case errors.As(err, &typ) && typ.Field != "":
		return fmt.Sprintf("field %q must be a JSON %s", typ.Field, jsonKind(typ.Type.Kind().String()))
	case errors.As(err, &typ):
		return "the body must be a JSON object"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected end of input"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "slice", "array":
		return "array"
	case "struct", "map":
		return "object"
	case "bool":
		return "boolean"
	}
	return "number"
}

// query reads a request's query parameters and rejects any not in allowed, so that a typo
// (?kinds=token) is an error rather than a silently ignored filter.
type query struct {
	c   *gin.Context
	err error
}

// newQuery rejects parameters not in allowed and repeated ones. A query string that does not
// decode (?q=%zz, a ';' separator) is an error too: URL.Query drops such pairs silently, which
// would answer an unfiltered list. Problems are reported in a fixed order (by parameter name),
// so one request always gets one answer.
func newQuery(c *gin.Context, allowed ...string) *query {
	q := &query{c: c}
	vals, err := url.ParseQuery(c.Request.URL.RawQuery)
	if err != nil {
		q.fail("the query string is malformed: %s", queryProblem(err))
		return q
	}
	for _, name := range slices.Sorted(maps.Keys(vals)) {
		if !containsString(allowed, name) {
			q.fail("unknown query parameter %q (allowed: %s)", name, strings.Join(allowed, ", "))
		} else if n := len(vals[name]); n > 1 {
			q.fail("query parameter %q is given %d times", name, n)
		}
	}
	return q
}

// queryProblem describes a url.ParseQuery error without Go's package prefix (the same words
// as /ws uses).
func queryProblem(err error) string {
	var esc url.EscapeError
	if errors.As(err, &esc) {
		return fmt.Sprintf("invalid percent-encoding %q", string(esc))
	}
	return err.Error()
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func (q *query) fail(format string, args ...any) {
	if q.err == nil {
		q.err = registry.Errorf(registry.EINVALID, format, args...)
	}
}

func (q *query) str(name string, max int) string {
	v := q.c.Query(name)
	if len(v) > max {
		q.fail("%s is longer than %d characters", name, max)
		return ""
	}
	return v
}

func (q *query) boolean(name string) *bool {
	v, ok := q.c.GetQuery(name)
	if !ok {
		return nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		q.fail("%s must be true or false, not %q", name, v)
		return nil
	}
	return &b
}

func (q *query) kind(name string) registry.Kind {
	v, ok := q.c.GetQuery(name)
	if !ok {
		return ""
	}
	k, err := registry.ParseKind(v)
	if err != nil {
		q.fail("%s", registry.ErrorMessage(err))
	}
	return k
}

func (q *query) canisterID(name string) registry.CanisterID {
	v, ok := q.c.GetQuery(name)
	if !ok {
		return ""
	}
	id, err := registry.ParseCanisterID(v)
	if err != nil {
		q.fail("%s: %s", name, registry.ErrorMessage(err))
	}
	return id
}

func (q *query) time(name string, def time.Time) time.Time {
	v, ok := q.c.GetQuery(name)
	if !ok {
		return def
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		q.fail("%s must be an RFC 3339 time such as 2025-01-02T15:04:05Z, not %q", name, v)
	}
	return t.UTC()
}

// page reads limit, cursor and order (descending by default when desc is set).
func (q *query) page(desc bool) registry.Page {
	p := registry.Page{Limit: registry.DefaultPageLimit, WithTotal: true, Desc: desc}
	if v, ok := q.c.GetQuery("limit"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > registry.MaxPageLimit {
			q.fail("limit must be a whole number from 1 to %d, not %q", registry.MaxPageLimit, v)
		}
		p.Limit = n
	}
	switch v := q.c.Query("order"); v {
	case "", "asc":
	case "desc":
		p.Desc = true
	default:
		q.fail("order must be asc or desc, not %q", v)
	}
	if v, ok := q.c.GetQuery("cursor"); ok {
		cur, err := registry.ParseCursor(v)
		if err != nil {
			q.fail("%s", registry.ErrorMessage(err))
		} else if cur.Desc != p.Desc {
			q.fail("this cursor belongs to the other sort order")
		}
		p.After, p.AfterTie = cur.Key, cur.Tie
	}
	return p
}

// staleness reads stale and stale_after; now minus stale_after (default def) is the
// threshold, returned too so that replies can mark each item.
func (q *query) staleness(now time.Time, def time.Duration) (registry.Staleness, time.Time) {
	after := def
	if v, ok := q.c.GetQuery("stale_after"); ok {
		d, err := config.ParseDuration(v) // the configuration's grammar: Go durations and whole days (2d)
		if err != nil || d < time.Second || d > 365*24*time.Hour {
			q.fail("stale_after must be a duration from 1s to 365d such as 10m, 36h or 2d, not %q", v)
		}
		after = d
	}
	before := now.Add(-after)
	return registry.Staleness{Want: q.boolean("stale"), Before: before}, before
}

// pathID parses the canister id in path parameter name.
func pathID(c *gin.Context, name string) (registry.CanisterID, error) {
	return registry.ParseCanisterID(c.Param(name))
}
