package relay

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"canistry/pkg/registry"
)

// call is one valid copy of a relay call.
type call struct {
	route       *Route
	method      string
	rest        string // the escaped path below the route: "" or "/…"
	query       string // the raw query
	header      http.Header
	body        []byte
	idempotent  bool // the caller sent Idempotency-Key
	keyHash     string
	fingerprint string
	limitKey    string // the rate limit's name: route and caller
	family      string
}

// splitPath returns the route name and the escaped rest of a /relay/<route>/<path…> path.
func splitPath(escaped string) (name, rest string, ok bool) {
	tail, ok := strings.CutPrefix(escaped, "/relay/")
	if !ok {
		return "", "", false
	}
	name, rest, found := strings.Cut(tail, "/")
	if found {
		rest = "/" + rest
	}
	return name, rest, name != ""
}

// checkPath refuses a path that could climb above the upstream's base path, or name another
// one than it seems to: a . or .. segment (encoded or not), an encoded slash or backslash, a
// backslash, a NUL.
func checkPath(rest string) error {
	for seg := range strings.SplitSeq(rest, "/") {
		dec, err := url.PathUnescape(seg)
		if err != nil {
			return registry.Errorf(registry.EINVALID, "the path has an invalid %%-escape")
		}
		if dec == "." || dec == ".." || strings.ContainsAny(dec, "/\\\x00") {
			return registry.Errorf(registry.EINVALID, "the path must not climb above the route (no . or .. segments, no encoded slashes or backslashes)")
		}
	}
	return nil
}

// maxIdempotencyKey bounds Idempotency-Key.
const maxIdempotencyKey = 255

// parseCall validates a copy of a call to rt after its route, method and key were checked.
func parseCall(w http.ResponseWriter, r *http.Request, rt *Route, rest string, caller [32]byte) (*call, error) {
	if err := checkPath(rest); err != nil {
		return nil, err
	}
	ik := r.Header.Values("Idempotency-Key")
	if len(ik) > 1 || len(ik) == 1 && (ik[0] == "" || len(ik[0]) > maxIdempotencyKey ||
		strings.ContainsFunc(ik[0], func(c rune) bool { return c < 0x21 || c > 0x7e })) {
		return nil, registry.Errorf(registry.EINVALID, "Idempotency-Key must be one value of 1 to %d printable ASCII characters", maxIdempotencyKey)
	}
	body, err := readBody(w, r, rt.MaxRequestBytes)
	if err != nil {
		return nil, err
	}
	if len(body) > 0 {
		if _, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil {
			return nil, registry.Errorf(registry.EUNSUPPORTED, "a request with a body needs a valid Content-Type")
		}
	}
	c := &call{route: rt, method: r.Method, rest: rest, query: r.URL.RawQuery, header: http.Header{}, body: body, idempotent: len(ik) == 1}
	for _, name := range rt.Forward {
		if vs := r.Header.Values(name); len(vs) > 0 {
			c.header[name] = vs
		}
	}
	c.fingerprint = c.fingerprintOf()
	key := "fp:" + c.fingerprint
	if c.idempotent {
		key = "ik:" + ik[0]
	}
	sum := sha256.Sum256([]byte(rt.Name + "\x00" + hex.EncodeToString(caller[:]) + "\x00" + key))
	c.keyHash = hex.EncodeToString(sum[:])
	c.limitKey = rt.Name + "\x00" + hex.EncodeToString(caller[:])
	return c, nil
}

// fingerprintOf is the sha256 of what the upstream would get from this copy: method, path,
// query, forwarded headers (in the route's order) and body.
func (c *call) fingerprintOf() string {
	h := sha256.New()
	for _, s := range []string{c.method, c.rest, c.query} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	for _, name := range c.route.Forward {
		h.Write([]byte(name + ":" + strings.Join(c.header[name], "\n")))
		h.Write([]byte{0})
	}
	h.Write(c.body)
	return hex.EncodeToString(h.Sum(nil))
}

func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	tooLarge := registry.Errorf(registry.ETOOLARGE, "the body is larger than the route's max_request_bytes (%d)", limit)
	if r.ContentLength > limit {
		return nil, tooLarge
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit)); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge
		}
		return nil, registry.WrapError(registry.EINVALID, "could not read the request body", err)
	}
	return buf.Bytes(), nil
}

// target is the upstream URL of c.
func (c *call) target() string {
	u := c.route.Upstream.String() + c.rest
	if c.query != "" {
		u += "?" + c.query
	}
	return u
}
