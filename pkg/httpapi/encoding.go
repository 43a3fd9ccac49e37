package httpapi

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"
)

// minGzipBytes is the smallest JSON body sent gzipped: below about one packet compression
// saves no round trip and costs CPU on both sides.
const minGzipBytes = 1024

// encodedKey is the gin context key under which a handler (or the read cache) leaves the
// *encoded forms of the body it writes, so that the ETag and the gzipped bytes of a body that
// is served again and again are computed once.
const encodedKey = "canistry.encoded"

// encoded holds one reply body and its derived forms, each computed at most once.
type encoded struct {
	body []byte

	etagOnce sync.Once
	etag     string
	gzOnce   sync.Once
	gz       []byte
	gzips    *sync.Pool // of the replyEncoder that made it
}

// ETag is a weak validator of the body: the first 128 bits of its SHA-256. Weak, because the
// gzipped and the plain reply carry the same one (RFC 9110 8.8.1: semantically equivalent);
// If-None-Match uses the weak comparison anyway.
func (e *encoded) ETag() string {
	e.etagOnce.Do(func() {
		sum := sha256.Sum256(e.body)
		e.etag = `W/"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`
	})
	return e.etag
}

// Gzip returns the body gzipped.
func (e *encoded) Gzip() []byte {
	e.gzOnce.Do(func() {
		zw := e.gzips.Get().(*gzip.Writer)
		defer e.gzips.Put(zw)
		var buf bytes.Buffer
		buf.Grow(len(e.body)/8 + 64)
		zw.Reset(&buf)
		_, _ = zw.Write(e.body) // a bytes.Buffer does not fail
		_ = zw.Close()
		e.gz = buf.Bytes()
	})
	return e.gz
}

// replyEncoder adds HTTP validators and content coding to the reads of the api's and the
// notifier's gin routes: every 200 JSON reply of a GET or HEAD gets an ETag, an If-None-Match
// that names it is answered 304 Not Modified without a body, and a JSON body of minGzipBytes or
// more is sent with Content-Encoding: gzip when the client accepts it (Vary: Accept-Encoding on
// every JSON read). Replies that are not JSON (logos are images, /metrics compresses itself)
// pass unchanged, but a 200 that brings its own ETag (a logo) still gets its 304 here, also when
// the read cache answered it. Writes, the api's proxy to the notifier and the notifier's intake
// and /ws never pass through here.
type replyEncoder struct {
	gzips sync.Pool // *gzip.Writer
	bufs  sync.Pool // *bytes.Buffer: a new one per reply would be zeroed memory per request
}

// maxPooledBuffer is the largest reply buffer kept for the next request.
const maxPooledBuffer = 1 << 20

func newReplyEncoder() *replyEncoder {
	return &replyEncoder{
		gzips: sync.Pool{New: func() any {
			zw, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed) // a valid level never fails
			return zw
		}},
		bufs: sync.Pool{New: func() any { return new(bytes.Buffer) }},
	}
}

// encoded returns the encoded forms of body: those a handler or the read cache left in the
// context for exactly this body, or new ones.
func (re *replyEncoder) encoded(c *gin.Context, body []byte) *encoded {
	if v, ok := c.Get(encodedKey); ok {
		if e, ok := v.(*encoded); ok && bytes.Equal(e.body, body) {
			return e
		}
	}
	return re.newEncoded(body)
}

// newEncoded wraps body; its forms are computed when first asked for.
func (re *replyEncoder) newEncoded(body []byte) *encoded {
	return &encoded{body: body, gzips: &re.gzips}
}

// middleware buffers the reply of a GET or HEAD and sends it, encoded, when the handlers are done.
func (re *replyEncoder) middleware(c *gin.Context) {
	r := c.Request
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		c.Next()
		return
	}
	buf := re.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	bw := &bufferedWriter{ResponseWriter: c.Writer, buf: buf}
	c.Writer = bw
	c.Next()
	c.Writer = bw.ResponseWriter
	re.send(c, buf.Bytes()) // nothing keeps buf's bytes after send: the read cache copies its own
	if buf.Cap() <= maxPooledBuffer {
		re.bufs.Put(buf)
	}
}

// send writes the buffered reply body to the real writer, as described on replyEncoder.
func (re *replyEncoder) send(c *gin.Context, body []byte) {
	w, h := c.Writer, c.Writer.Header()
	status := w.Status()
	if len(body) == 0 {
		return
	}
	if h.Get("Content-Encoding") != "" { // already encoded (promhttp gzips /metrics itself)
		_, _ = w.Write(body)
		return
	}
	json := isJSON(h.Get("Content-Type"))
	var enc *encoded
	if json {
		h.Add("Vary", "Accept-Encoding")
		if status == http.StatusOK {
			enc = re.encoded(c, body)
			if h.Get("ETag") == "" {
				h.Set("ETag", enc.ETag())
			}
		}
	}
	if etag := h.Get("ETag"); status == http.StatusOK && etag != "" {
		if inm := c.Request.Header.Get("If-None-Match"); inm != "" && etagMatches(inm, strings.TrimPrefix(etag, "W/")) { // weak comparison
			h.Del("Content-Type")
			h.Del("Content-Length")
			w.WriteHeader(http.StatusNotModified)
			w.WriteHeaderNow()
			return
		}
	}
	if !json { // the handler's own headers and bytes
		_, _ = w.Write(body)
		return
	}
	if len(body) >= minGzipBytes && acceptsGzip(c.Request.Header.Values("Accept-Encoding")) {
		if enc == nil {
			enc = re.encoded(c, body)
		}
		body = enc.Gzip()
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

// isJSON reports whether a Content-Type is JSON (application/json or a +json type).
func isJSON(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

// acceptsGzip reports whether Accept-Encoding values allow gzip (RFC 9110 12.5.3): gzip or
// x-gzip with a non-zero q, or * with a non-zero q when gzip is not named.
func acceptsGzip(values []string) bool {
	gz, star := -1.0, -1.0
	for _, v := range values {
		for _, item := range strings.Split(v, ",") {
			name, params, _ := strings.Cut(strings.TrimSpace(item), ";")
			q := 1.0
			if k, val, ok := strings.Cut(strings.TrimSpace(params), "="); ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
				if err != nil {
					f = 0
				}
				q = f
			}
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "gzip", "x-gzip":
				gz = max(gz, q)
			case "*":
				star = max(star, q)
			}
		}
	}
	if gz >= 0 {
		return gz > 0
	}
	return star > 0
}

// bufferedWriter keeps the body a handler writes; status and headers go to the gin writer
// underneath, which sends nothing before the first Write (or WriteHeaderNow).
type bufferedWriter struct {
	gin.ResponseWriter
	buf *bytes.Buffer
}

func (w *bufferedWriter) Write(p []byte) (int, error) { return w.buf.Write(p) }

func (w *bufferedWriter) WriteString(s string) (int, error) { return w.buf.WriteString(s) }

// WriteHeaderNow is deferred to send: the encoder still changes headers.
func (w *bufferedWriter) WriteHeaderNow() {}

// Written reports whether anything was written, sent or not.
func (w *bufferedWriter) Written() bool { return w.buf.Len() > 0 || w.ResponseWriter.Written() }

// Size is the body size written so far.
func (w *bufferedWriter) Size() int { return w.buf.Len() }
