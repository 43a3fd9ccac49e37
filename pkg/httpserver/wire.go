package httpserver

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"canistry/pkg/httperror"
	"canistry/pkg/registry"
)

// wireConn is a server-side HTTP/1.x connection (plain TCP or after TLS) as net/http sees it.
// It does two things net/http cannot be asked to do:
//
//   - net/http answers requests it cannot parse (431, 400, 501, 505, 417) itself, in text/plain,
//     straight on the connection. Write recognises those canned replies and rewrites them into
//     the one JSON error shape, every status a 4xx (5xx become 400).
//   - net/http drops Content-Length when Transfer-Encoding is present, so a handler cannot see a
//     request that had both (request smuggling). Read watches the request headers go by and
//     records whether the first request with a Transfer-Encoding also had a Content-Length.
//
// After a hijack (WebSocket) the connection is passed through untouched.
type wireConn struct {
	net.Conn
	tlsState *tls.ConnectionState // nil for plain TCP

	mu       sync.Mutex
	hijacked bool
	scan     headerScan
}

func newWireConn(c net.Conn, state *tls.ConnectionState) *wireConn {
	return &wireConn{Conn: c, tlsState: state}
}

func (c *wireConn) hijack() {
	c.mu.Lock()
	c.hijacked = true
	c.mu.Unlock()
}

// Read reads from the connection and feeds the header scan.
func (c *wireConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		if !c.hijacked {
			c.scan.feed(p[:n])
		}
		c.mu.Unlock()
	}
	return n, err
}

// Write writes to the connection, rewriting net/http's canned rejections into JSON.
func (c *wireConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	hijacked := c.hijacked
	c.mu.Unlock()
	if !hijacked {
		if out, ok := rewriteCanned(p); ok {
			if _, err := c.Conn.Write(out); err != nil {
				return 0, err
			}
			return len(p), nil
		}
	}
	return c.Conn.Write(p)
}

// teFraming reports, for the first request on the connection with a Transfer-Encoding,
// whether it was seen (seen) and whether it also carried a Content-Length (both).
func (c *wireConn) teFraming() (seen, both bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.scan.teSeen, c.scan.teWithCL
}

// headerScan follows the HTTP/1.x requests read on a connection far enough to find the first
// one with a Transfer-Encoding: header blocks are collected up to the empty line, bodies with a
// Content-Length are skipped. The scan stops at the first Transfer-Encoding (the guard closes
// the connection after that request, so nothing after it is served) and at anything it cannot
// follow (net/http rejects such a request and closes the connection too).
type headerScan struct {
	block    []byte
	bodyLeft int64
	stopped  bool
	teSeen   bool
	teWithCL bool
}

// maxScanBlock bounds the header block kept; net/http rejects larger headers (431).
const maxScanBlock = 1 << 20

func (s *headerScan) feed(b []byte) {
	for len(b) > 0 && !s.stopped {
		if s.bodyLeft > 0 {
			n := int64(len(b))
			if n > s.bodyLeft {
				n = s.bodyLeft
			}
			s.bodyLeft -= n
			b = b[n:]
			continue
		}
		start := len(s.block)
		if start > 3 {
			start -= 3
		} else {
			start = 0
		}
		s.block = append(s.block, b...)
		end := headerEnd(s.block, start)
		if end < 0 {
			if len(s.block) > maxScanBlock {
				s.stopped = true
			}
			return
		}
		rest := s.block[end:]
		s.endOfHeader(s.block[:end])
		b = append([]byte(nil), rest...)
		s.block = s.block[:0]
	}
}

// headerEnd returns the offset just after the empty line that ends a header block (CRLF or
// bare LF line endings, as net/http accepts), or -1.
func headerEnd(b []byte, from int) int {
	for i := from; i < len(b); i++ {
		if b[i] != '\n' {
			continue
		}
		switch {
		case i+1 < len(b) && b[i+1] == '\n':
			return i + 2
		case i+2 < len(b) && b[i+1] == '\r' && b[i+2] == '\n':
			return i + 3
		}
	}
	return -1
}

func (s *headerScan) endOfHeader(block []byte) {
	lines := strings.Split(strings.ReplaceAll(string(block), "\r\n", "\n"), "\n")
	var cl []string
	te := false
	for _, line := range lines[1:] {
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "content-length":
			cl = append(cl, strings.TrimSpace(value))
		case "transfer-encoding":
			te = true
		}
	}
	switch {
	case te:
		s.teSeen, s.teWithCL, s.stopped = true, len(cl) > 0, true
	case len(cl) > 0:
		n, err := strconv.ParseInt(cl[0], 10, 64)
		if err != nil || n < 0 {
			s.stopped = true
			return
		}
		s.bodyLeft = n
	}
}

// cannedTail is what ends the header of every reply net/http writes on its own.
const cannedTail = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

// rewriteCanned turns one of net/http's canned rejections into the one JSON error shape. It
// recognises them by their exact form: a status line followed by nothing but cannedTail (a
// handler's reply always has a Date, Content-Length or Transfer-Encoding as well), or the
// bodiless 417 that answers an unknown Expect.
func rewriteCanned(p []byte) ([]byte, bool) {
	if len(p) > 1024 || !bytes.HasPrefix(p, []byte("HTTP/1.1 ")) {
		return nil, false
	}
	statusLine, rest, ok := bytes.Cut(p, []byte("\r\n"))
	if !ok || len(statusLine) < 12 {
		return nil, false
	}
	code, err := strconv.Atoi(string(statusLine[9:12]))
	if err != nil || code < 400 {
		return nil, false
	}
	var text string
	switch {
	case bytes.HasPrefix(p[len(statusLine):], []byte(cannedTail)):
		text = string(p[len(statusLine)+len(cannedTail):])
	case code == http.StatusExpectationFailed && bytes.HasSuffix(rest, []byte("Content-Length: 0\r\n\r\n")):
		text = "417 Expectation Failed: the server supports only Expect: 100-continue"
	default:
		return nil, false
	}
	return cannedJSON(code, text), true
}

// cannedJSON is the JSON reply for a canned rejection with status code and text
// ("400 Bad Request: malformed Host header").
func cannedJSON(code int, text string) []byte {
	msg := text
	if prefix := strconv.Itoa(code) + " " + http.StatusText(code); strings.HasPrefix(msg, prefix) {
		msg = strings.TrimPrefix(strings.TrimPrefix(msg, prefix), ": ")
	}
	if msg == "" {
		msg = strings.ToLower(http.StatusText(code))
	}
	errCode := registry.EINVALID
	switch {
	case code == http.StatusRequestHeaderFieldsTooLarge:
		errCode = registry.ETOOLARGE
	case code >= 500:
		code = http.StatusBadRequest
	}
	return rawJSONReply(code, registry.Errorf(errCode, "malformed request: %s", msg))
}

// rawJSONReply is a complete HTTP/1.1 reply with status code and err in the one JSON error
// shape (the headers httperror.Write sets), closing the connection.
func rawJSONReply(code int, err error) []byte {
	js := httperror.Encode(err)
	return fmt.Appendf(nil, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		code, http.StatusText(code), len(js), js)
}

// wireKey is the context key under which ConnContext stores the request's wireConn.
type wireKey struct{}

// withWireConn is the http.Server's ConnContext: it makes the wireConn available to guard.
func withWireConn(ctx context.Context, c net.Conn) context.Context {
	if wc, ok := c.(*wireConn); ok {
		return context.WithValue(ctx, wireKey{}, wc)
	}
	return ctx
}

func wireConnOf(r *http.Request) *wireConn {
	wc, _ := r.Context().Value(wireKey{}).(*wireConn)
	return wc
}

// wireListener wraps each accepted plain TCP connection in a wireConn.
type wireListener struct{ net.Listener }

// Accept accepts the next connection.
func (l wireListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return newWireConn(c, nil), nil
}
