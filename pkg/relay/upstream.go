package relay

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"canistry/pkg/egress"
	"canistry/pkg/httperror"
	"canistry/pkg/registry"
	"canistry/pkg/store"
)

// userAgent is what the upstream sees as the client.
const userAgent = "canistry-relay"

// callUpstream makes c's one upstream call with client and returns how it ended. A failure is
// a result too: one fixed error reply per failure class, the same bytes whatever the details.
func callUpstream(client *http.Client, c *call) store.RelayResult {
	rt := c.route
	ctx, cancel := context.WithTimeout(context.Background(), rt.Timeout)
	defer cancel()
	var body io.Reader
	if len(c.body) > 0 {
		body = bytes.NewReader(c.body)
	}
	req, err := http.NewRequestWithContext(ctx, c.method, c.target(), body)
	if err != nil {
		return failure(registry.EUpstreamFailed, rt, 0, 0)
	}
	for name, vs := range c.header {
		req.Header[name] = vs
	}
	for _, h := range rt.Inject {
		req.Header.Set(h.Name, h.Value)
	}
	req.Header.Set("User-Agent", userAgent)
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return failure(classify(err), rt, 0, time.Since(start))
	}
	defer resp.Body.Close()
	if isRedirect(resp.StatusCode) {
		return failure(registry.EUpstreamRedirect, rt, resp.StatusCode, time.Since(start))
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, rt.MaxResponse+1))
	if err != nil {
		return failure(classify(err), rt, resp.StatusCode, time.Since(start))
	}
	reply := registry.RelayReply{Status: resp.StatusCode, Body: data}
	for _, name := range rt.Keep {
		if vs := resp.Header.Values(name); len(vs) > 0 {
			reply.Headers = append(reply.Headers, registry.RelayHeader{Name: name, Value: strings.Join(vs, ", ")})
		}
	}
	if len(rt.Drop) > 0 && isJSON(resp.Header.Get("Content-Type")) {
		reply.Body = dropFields(reply.Body, rt.Drop)
	}
	if replySize(&reply) > rt.MaxResponse {
		return failure(registry.EUpstreamTooLarge, rt, resp.StatusCode, time.Since(start))
	}
	return store.RelayResult{Result: registry.RelayOK, UpstreamStatus: resp.StatusCode, Duration: time.Since(start), Reply: reply}
}

func isRedirect(status int) bool {
	switch status {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

// replySize is the size of a reply as the IC counts an outcall's response against its
// max_response_bytes: the body and every header's name and value (Content-Length included).
func replySize(r *registry.RelayReply) int64 {
	n := int64(len(r.Body)) + int64(len("Content-Length")+len(strconv.Itoa(len(r.Body))))
	for _, h := range r.Headers {
		n += int64(len(h.Name) + len(h.Value))
	}
	return n
}

// classify maps an upstream call's error to its failure class.
func classify(err error) string {
	var (
		dnsErr  *net.DNSError
		opErr   *net.OpError
		certErr *tls.CertificateVerificationError
		hostErr x509.HostnameError
		uaErr   x509.UnknownAuthorityError
		invErr  x509.CertificateInvalidError
		recErr  tls.RecordHeaderError
		alert   tls.AlertError
		netErr  net.Error
	)
	switch {
	case errors.Is(err, egress.ErrForbidden):
		return registry.EUpstreamForbidden
	case errors.As(err, &certErr), errors.As(err, &hostErr), errors.As(err, &uaErr), errors.As(err, &invErr),
		errors.As(err, &recErr), errors.As(err, &alert):
		return registry.EUpstreamTLS
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return registry.EUpstreamTimeout
	case errors.As(err, &dnsErr), errors.As(err, &opErr) && opErr.Op == "dial":
		return registry.EUpstreamUnreachable
	}
	return registry.EUpstreamFailed
}

// failure is the stored result of a failed call: its one deterministic error reply.
func failure(code string, rt *Route, status int, took time.Duration) store.RelayResult {
	httpStatus, msg := http.StatusBadGateway, ""
	switch code {
	case registry.EUpstreamUnreachable:
		msg = "the upstream could not be reached; nothing was sent"
	case registry.EUpstreamForbidden:
		msg = "the upstream's address is not public; the relay does not connect to it"
	case registry.EUpstreamTimeout:
		httpStatus, msg = http.StatusGatewayTimeout, fmt.Sprintf("the upstream did not answer within the route's timeout (%s)", rt.Timeout)
	case registry.EUpstreamTLS:
		msg = "the upstream's TLS handshake or certificate could not be verified"
	case registry.EUpstreamRedirect:
		msg = fmt.Sprintf("the upstream answered %d, a redirect, which the relay does not follow", status)
	case registry.EUpstreamTooLarge:
		msg = fmt.Sprintf("the upstream's reply is larger than the route's max_response_bytes (%d)", rt.MaxResponse)
	case registry.EUpstreamOutcomeUnknown:
		msg = "the notifier calling the upstream stopped before its reply; the call may have taken effect and is never re-run"
	default:
		code, msg = registry.EUpstreamFailed, "the upstream's reply broke off or could not be read"
	}
	msg += "; retry with a new Idempotency-Key"
	return store.RelayResult{Result: code, UpstreamStatus: status, Duration: took, Reply: errorReply(httpStatus, registry.Errorf(code, "%s", msg))}
}

// errorReply is a reply in the one error shape.
func errorReply(status int, err error) registry.RelayReply {
	return registry.RelayReply{Status: status, Headers: []registry.RelayHeader{{Name: "Content-Type", Value: "application/json"}},
		Body: httperror.Encode(err)}
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// dropFields removes the fields at ptrs from a JSON document and returns it re-encoded (object
// keys sorted, numbers as written, no HTML escaping); a body that is not JSON is returned as is.
func dropFields(body []byte, ptrs [][]string) []byte {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return body
	}
	for _, p := range ptrs {
		v = remove(v, p)
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return body
	}
	return bytes.TrimSuffix(out.Bytes(), []byte("\n"))
}

// remove deletes the member at path from v (objects by key, arrays by index).
func remove(v any, path []string) any {
	if len(path) == 0 {
		return v
	}
	switch x := v.(type) {
	case map[string]any:
		if len(path) == 1 {
			delete(x, path[0])
		} else if child, ok := x[path[0]]; ok {
			x[path[0]] = remove(child, path[1:])
		}
	case []any:
		i, err := strconv.Atoi(path[0])
		if err != nil || i < 0 || i >= len(x) {
			return v
		}
		if len(path) == 1 {
			return append(x[:i:i], x[i+1:]...)
		}
		x[i] = remove(x[i], path[1:])
	}
	return v
}
