package relay

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"canistry/pkg/config"
	"canistry/pkg/httpserver"
	"canistry/pkg/registry"
)

// Defaults and bounds of a route's fields.
const (
	DefaultTimeout          = 30 * time.Second
	DefaultGetTTL           = 10 * time.Second
	DefaultMaxRequestBytes  = 1 << 20
	DefaultMaxResponseBytes = 64 << 10
	// MaxRequestBytesLimit and MaxResponseBytesLimit are the IC's own limits of an outcall's
	// request and response (2 MB).
	MaxRequestBytesLimit  = 2_000_000
	MaxResponseBytesLimit = 2_000_000
	// MinResponseBytes leaves room for the relay's own error replies.
	MinResponseBytes = 1024
	maxRoutes        = 1000
)

// Methods are the methods a route may allow, in the order Allow lists them.
var Methods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// Route is one validated route of the routes file.
type Route struct {
	Name     string
	Upstream *url.URL // its path has no trailing slash
	Methods  []string // in the order of Methods
	keys     httpserver.APIKeys
	// Inject are the headers sent upstream with every call (canonical names, sorted).
	Inject          []registry.RelayHeader
	Forward         []string // canonical names of the caller's headers passed on
	Keep            []string // canonical names of the upstream's headers kept in the reply
	Drop            [][]string
	Timeout         time.Duration
	MaxRequestBytes int64
	MaxResponse     int64
	GetTTL          time.Duration
}

// Routes is a validated routes file.
type Routes struct {
	List   []*Route
	byName map[string]*Route
}

// Get returns the route called name.
func (rs *Routes) Get(name string) (*Route, bool) {
	if rs == nil {
		return nil, false
	}
	r, ok := rs.byName[name]
	return r, ok
}

// routeJSON is a route as written in the file.
type routeJSON struct {
	Name             string            `json:"name"`
	Upstream         string            `json:"upstream"`
	Methods          []string          `json:"methods"`
	APIKeys          []string          `json:"api_keys"`
	InjectHeaders    map[string]string `json:"inject_headers"`
	ForwardHeaders   []string          `json:"forward_headers"`
	ResponseHeaders  []string          `json:"response_headers"`
	DropJSONFields   []string          `json:"drop_json_fields"`
	Timeout          string            `json:"timeout"`
	MaxRequestBytes  *int64            `json:"max_request_bytes"`
	MaxResponseBytes *int64            `json:"max_response_bytes"`
	GetTTL           string            `json:"get_ttl"`
}

// LoadRoutes reads and validates the routes file at path (RELAY_ROUTES), shaped
// {"routes": [{…}, …]}. ${VAR} in api_keys and inject_headers is read with getenv, and so is
// LOCAL_DEV (http upstreams and non-public addresses). An error names the route and the field,
// never a key's or an injected header's value.
func LoadRoutes(path string, getenv func(string) string) (*Routes, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("relay routes: %w", err)
	}
	rs, err := ParseRoutes(b, getenv)
	if err != nil {
		return nil, fmt.Errorf("relay routes %s: %w", path, err)
	}
	return rs, nil
}

// ParseRoutes is LoadRoutes on the file's bytes.
func ParseRoutes(b []byte, getenv func(string) string) (*Routes, error) {
	var file struct {
		Routes []json.RawMessage `json:"routes"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&file); err != nil {
		return nil, fmt.Errorf(`the file must be a JSON object {"routes": [...]}: %w`, err)
	}
	if file.Routes == nil {
		return nil, errors.New(`the file must be a JSON object {"routes": [...]}: routes is missing`)
	}
	if len(file.Routes) > maxRoutes {
		return nil, fmt.Errorf("at most %d routes", maxRoutes)
	}
	localDev, _ := strconv.ParseBool(strings.TrimSpace(getenv("LOCAL_DEV")))
	rs := &Routes{byName: map[string]*Route{}}
	var errs []error
	for i, raw := range file.Routes {
		r, err := parseRoute(raw, getenv, localDev)
		if err == nil && rs.byName[r.Name] != nil {
			err = errors.New("name: used by an earlier route")
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("route %q (routes[%d]): %w", routeName(raw), i, err))
			continue
		}
		rs.List = append(rs.List, r)
		rs.byName[r.Name] = r
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return rs, nil
}

// routeName is the name of a route for its errors, as far as it can be read.
func routeName(raw json.RawMessage) string {
	var v struct {
		Name any `json:"name"`
	}
	_ = json.Unmarshal(raw, &v)
	if s, ok := v.Name.(string); ok && len(s) <= 64 {
		return s
	}
	return ""
}

var routeNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// parseRoute validates one route.
func parseRoute(raw json.RawMessage, getenv func(string) string, localDev bool) (*Route, error) {
	var j routeJSON
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return nil, err
	}
	r := &Route{Name: j.Name}
	switch {
	case !routeNameRE.MatchString(j.Name):
		return nil, errors.New("name: must be 1 to 63 lower-case letters, digits, '-' or '_', starting with a letter or digit")
	case j.Name == "calls":
		return nil, errors.New(`name: "calls" is reserved (GET /relay/calls lists the relay's calls)`)
	}
	var err error
	if r.Upstream, err = parseUpstream(j.Upstream, localDev); err != nil {
		return nil, fmt.Errorf("upstream: %w", err)
	}
	steps := []func() error{
		func() (err error) { r.Methods, err = parseMethods(j.Methods); return },
		func() (err error) { r.keys, err = parseKeys(j.APIKeys, getenv); return },
		func() (err error) { r.Inject, err = parseInject(j.InjectHeaders, getenv); return },
		func() (err error) {
			r.Forward, err = headerList("forward_headers", j.ForwardHeaders, []string{"Content-Type", "Accept"}, forwardRefused)
			return
		},
		func() (err error) {
			r.Keep, err = headerList("response_headers", j.ResponseHeaders, []string{"Content-Type"}, keepRefused)
			return
		},
		func() (err error) { r.Drop, err = parsePointers(j.DropJSONFields); return },
		func() (err error) {
			r.Timeout, err = duration("timeout", j.Timeout, DefaultTimeout, 100*time.Millisecond, config.OutcallDeadline)
			return
		},
		func() (err error) {
			r.GetTTL, err = duration("get_ttl", j.GetTTL, DefaultGetTTL, 0, config.OutcallWindow)
			return
		},
		func() (err error) {
			r.MaxRequestBytes, err = size("max_request_bytes", j.MaxRequestBytes, DefaultMaxRequestBytes, 1, MaxRequestBytesLimit)
			return
		},
		func() (err error) {
			r.MaxResponse, err = size("max_response_bytes", j.MaxResponseBytes, DefaultMaxResponseBytes, MinResponseBytes, MaxResponseBytesLimit)
			return
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// parseUpstream checks the base URL as a webhook's (registry.ValidateWebhookURL: https, or http
// and non-public addresses with LOCAL_DEV) and that it has no query.
func parseUpstream(raw string, localDev bool) (*url.URL, error) {
	if err := registry.ValidateWebhookURL(raw, localDev); err != nil {
		msg := strings.ReplaceAll(registry.ErrorMessage(err), "webhooks go to", "upstreams are")
		return nil, errors.New(strings.TrimPrefix(msg, "url "))
	}
	u, _ := url.Parse(raw)
	if u.RawQuery != "" || u.ForceQuery {
		return nil, errors.New("must not have a query")
	}
	u.Path, u.RawPath = strings.TrimRight(u.Path, "/"), strings.TrimRight(u.RawPath, "/")
	return u, nil
}

func parseMethods(ms []string) ([]string, error) {
	if len(ms) == 0 {
		return nil, fmt.Errorf("methods: at least one of %s", strings.Join(Methods, " "))
	}
	var out []string
	for _, m := range Methods {
		if slices.Contains(ms, m) {
			out = append(out, m)
		}
	}
	for _, m := range ms {
		if !slices.Contains(Methods, m) {
			return nil, fmt.Errorf("methods: %.20q is not one of %s", m, strings.Join(Methods, " "))
		}
	}
	return out, nil
}

// envRef is a ${VAR} reference.
var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expand replaces every ${VAR} of v with getenv's value; field names v in an error, which
// never shows v itself (a secret) but only the variable's name.
func expand(field, v string, getenv func(string) string) (string, error) {
	var err error
	out := envRef.ReplaceAllStringFunc(v, func(ref string) string {
		name := ref[2 : len(ref)-1]
		val := getenv(name)
		if val == "" && err == nil {
			err = fmt.Errorf("%s: ${%s} is not set", field, name)
		}
		return val
	})
	return out, err
}

func parseKeys(keys []string, getenv func(string) string) (httpserver.APIKeys, error) {
	if len(keys) == 0 {
		return nil, errors.New("api_keys: at least one key (callers send it in X-API-Key)")
	}
	out := make([]string, 0, len(keys))
	for i, k := range keys {
		field := fmt.Sprintf("api_keys[%d]", i)
		v, err := expand(field, k, getenv)
		if err != nil {
			return nil, err
		}
		if strings.TrimSpace(v) == "" || strings.ContainsAny(v, "\r\n") {
			return nil, fmt.Errorf("%s: must not be empty or hold a line break (value not shown)", field)
		}
		out = append(out, v)
	}
	return httpserver.NewAPIKeys(out), nil
}

func parseInject(hs map[string]string, getenv func(string) string) ([]registry.RelayHeader, error) {
	out := make([]registry.RelayHeader, 0, len(hs))
	for name, v := range hs {
		field := fmt.Sprintf("inject_headers[%q]", name)
		cn, err := headerName(field, name, forwardRefused)
		if err != nil {
			return nil, err
		}
		if v, err = expand(field, v, getenv); err != nil {
			return nil, err
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			return nil, fmt.Errorf("%s: the value must not hold a line break or NUL (value not shown)", field)
		}
		out = append(out, registry.RelayHeader{Name: cn, Value: v})
	}
	slices.SortFunc(out, func(a, b registry.RelayHeader) int { return strings.Compare(a.Name, b.Name) })
	for i := 1; i < len(out); i++ {
		if out[i].Name == out[i-1].Name {
			return nil, fmt.Errorf("inject_headers: %q is given twice", out[i].Name)
		}
	}
	return out, nil
}

// hopByHop are never passed on, either way (RFC 9110 section 7.6.1), and neither is what the
// relay itself sets or reads.
var hopByHop = []string{"Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Connection",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade", "Content-Length", "Host"}

// forwardRefused may not be forwarded or injected: the caller's key, and the forwarding
// headers that carry the replicas' addresses.
var forwardRefused = append(slices.Clone(hopByHop), "X-Api-Key", "Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Real-Ip")

// keepRefused may not be kept in a reply: Date (it differs between copies of a call re-run,
// and DESIGN.md forbids it) and what framing the relay writes itself.
var keepRefused = append(slices.Clone(hopByHop), "Date")

func headerName(field, name string, refused []string) (string, error) {
	cn := textproto.CanonicalMIMEHeaderKey(name)
	if name == "" || strings.ContainsFunc(name, func(r rune) bool { return r <= ' ' || r >= 0x7f || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) }) {
		return "", fmt.Errorf("%s: %.70q is not a header name", field, name)
	}
	if slices.Contains(refused, cn) {
		return "", fmt.Errorf("%s: %s may not be used here", field, cn)
	}
	return cn, nil
}

func headerList(field string, names, def []string, refused []string) ([]string, error) {
	if names == nil {
		return def, nil
	}
	var out []string
	for i, n := range names {
		cn, err := headerName(fmt.Sprintf("%s[%d]", field, i), n, refused)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, cn) {
			out = append(out, cn)
		}
	}
	return out, nil
}

// parsePointers parses JSON Pointers (RFC 6901) into their unescaped tokens.
func parsePointers(ps []string) ([][]string, error) {
	var out [][]string
	for i, p := range ps {
		if !strings.HasPrefix(p, "/") {
			return nil, fmt.Errorf("drop_json_fields[%d]: %.70q is not a JSON Pointer to a field (it starts with /)", i, p)
		}
		toks := strings.Split(p[1:], "/")
		for j, t := range toks {
			if strings.Contains(strings.ReplaceAll(strings.ReplaceAll(t, "~0", ""), "~1", ""), "~") {
				return nil, fmt.Errorf("drop_json_fields[%d]: %.70q has a ~ not followed by 0 or 1", i, p)
			}
			toks[j] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
		}
		out = append(out, toks)
	}
	return out, nil
}

func duration(field, v string, def, lo, hi time.Duration) (time.Duration, error) {
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < lo || d > hi {
		return 0, fmt.Errorf("%s: must be a duration from %s to %s, not %.30q", field, lo, hi, v)
	}
	return d, nil
}

func size(field string, v *int64, def, lo, hi int64) (int64, error) {
	if v == nil {
		return def, nil
	}
	if *v < lo || *v > hi {
		return 0, fmt.Errorf("%s: must be from %d to %d, not %d", field, lo, hi, *v)
	}
	return *v, nil
}
