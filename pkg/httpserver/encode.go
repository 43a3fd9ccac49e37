package httpserver

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// minGzipBytes is the smallest JSON body sent gzipped: below about one packet compression
// saves no round trip and costs CPU on both sides.
const minGzipBytes = 1024

// Encoded holds one reply body and its derived forms, each computed at most once, so that the
// ETag and the gzipped bytes of a body that is served again and again are computed once.
type Encoded struct {
	body []byte

	etagOnce sync.Once
	etag     string
	gzOnce   sync.Once
	gz       []byte
	gzips    *sync.Pool // of the Encoder that made it
}

// Body is the plain body.
func (e *Encoded) Body() []byte { return e.body }

// ETag is a weak validator of the body: the first 128 bits of its SHA-256. Weak, because the
// gzipped and the plain reply carry the same one (RFC 9110 8.8.1: semantically equivalent);
// If-None-Match uses the weak comparison anyway.
func (e *Encoded) ETag() string {
	e.etagOnce.Do(func() {
		sum := sha256.Sum256(e.body)
		e.etag = `W/"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`
	})
	return e.etag
}

// Gzip returns the body gzipped.
func (e *Encoded) Gzip() []byte {
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

// Encoder adds HTTP validators and content coding to the reads of the api's and the notifier's
// routes: every 200 JSON reply of a GET or HEAD gets an ETag, an If-None-Match that names it is
// answered 304 Not Modified without a body, and a JSON body of minGzipBytes or more is sent with
// Content-Encoding: gzip when the client accepts it (Vary: Accept-Encoding on every JSON read).
// Replies that are not JSON (logos are images, /metrics compresses itself) pass unchanged, but a
// 200 that brings its own ETag (a logo) still gets its 304 here. Writes, the api's proxy to the
// notifier and the notifier's intake and /ws never pass through it. Handler is its net/http
// form; the api's gin router drives Send from a middleware of its own.
type Encoder struct {
	gzips sync.Pool // *gzip.Writer
	bufs  sync.Pool // *bytes.Buffer: a new one per reply would be zeroed memory per request
}

// maxPooledBuffer is the largest reply buffer kept for the next request.
const maxPooledBuffer = 1 << 20

// NewEncoder returns an Encoder with empty pools.
func NewEncoder() *Encoder {
	return &Encoder{
		gzips: sync.Pool{New: func() any {
			zw, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed) // a valid level never fails
			return zw
		}},
		bufs: sync.Pool{New: func() any { return new(bytes.Buffer) }},
	}
}

// NewEncoded wraps body; its forms are computed when first asked for.
func (re *Encoder) NewEncoded(body []byte) *Encoded {
	return &Encoded{body: body, gzips: &re.gzips}
}

// Buffer returns an empty reply buffer; give it back with Release once its bytes are sent.
func (re *Encoder) Buffer() *bytes.Buffer {
	buf := re.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	return buf
}

// Release returns a buffer to the pool unless it grew too large to keep.
func (re *Encoder) Release(buf *bytes.Buffer) {
	if buf.Cap() <= maxPooledBuffer {
		re.bufs.Put(buf)
	}
}

// Send writes a buffered reply (status, the headers already in w.Header(), body) to w, as
// described on Encoder. known, when not nil and for exactly this body, gives its encoded forms
// (a constant document, or a read cache hit), so that they are not computed again.
func (re *Encoder) Send(w http.ResponseWriter, r *http.Request, status int, body []byte, known *Encoded) {
	h := w.Header()
	if len(body) == 0 || h.Get("Content-Encoding") != "" { // nothing to encode, or already encoded (promhttp gzips /metrics itself)
		w.WriteHeader(status)
		_, _ = w.Write(body)
		return
	}
	json := isJSON(h.Get("Content-Type"))
	var enc *Encoded
	encoded := func() *Encoded {
		if enc == nil {
			enc = known
			if enc == nil || !bytes.Equal(enc.body, body) {
				enc = re.NewEncoded(body)
			}
		}
		return enc
	}
	if json {
		h.Add("Vary", "Accept-Encoding")
		if status == http.StatusOK && h.Get("ETag") == "" {
			h.Set("ETag", encoded().ETag())
		}
	}
	if etag := h.Get("ETag"); status == http.StatusOK && etag != "" {
		if inm := r.Header.Get("If-None-Match"); inm != "" && ETagMatches(inm, strings.TrimPrefix(etag, "W/")) { // weak comparison
			h.Del("Content-Type")
			h.Del("Content-Length")
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	if json {
		if len(body) >= minGzipBytes && AcceptsGzip(r.Header.Values("Accept-Encoding")) {
			body = encoded().Gzip()
			h.Set("Content-Encoding", "gzip")
		}
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// ETagMatches reports whether an If-None-Match list names etag (weak comparison).
func ETagMatches(list, etag string) bool {
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

// isJSON reports whether a Content-Type is JSON (application/json or a +json type).
func isJSON(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

// AcceptsGzip reports whether Accept-Encoding values allow gzip (RFC 9110 12.5.3): gzip or
// x-gzip with a non-zero q, or * with a non-zero q when gzip is not named.
func AcceptsGzip(values []string) bool {
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

// Rememberer is the buffering writer an encoder middleware hands to the handlers behind it: it
// keeps the encoded forms of the body a handler writes, for Send.
type Rememberer interface {
	RememberEncoded(e *Encoded)
}

// Remember leaves e, the encoded forms of the body about to be written on w, for the encoder in
// front (w or a writer it wraps is a Rememberer); without one it does nothing. It costs nothing
// per request: the slot is the encoder's writer.
func Remember(w http.ResponseWriter, e *Encoded) {
	for w != nil {
		if r, ok := w.(Rememberer); ok {
			r.RememberEncoded(e)
			return
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return
		}
		w = u.Unwrap()
	}
}

// ServeDocument serves a constant JSON document; its ETag and gzipped form are made once.
func ServeDocument(doc *Encoded) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "public, max-age=300")
		h.Set("Content-Type", "application/json")
		Remember(w, doc)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(doc.body)
	})
}

// Handler is the Encoder as a net/http middleware: it buffers the reply of a GET or HEAD and
// sends it, encoded, when next is done.
func (re *Encoder) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			next.ServeHTTP(w, r)
			return
		}
		bw := &bufferedWriter{ResponseWriter: w, buf: re.Buffer()}
		next.ServeHTTP(bw, r)
		re.Send(w, r, bw.Status(), bw.buf.Bytes(), bw.known)
		re.Release(bw.buf)
	})
}

// bufferedWriter keeps the status and body a handler writes; headers go to the writer
// underneath, which sends nothing until Send.
type bufferedWriter struct {
	http.ResponseWriter
	buf    *bytes.Buffer
	status int
	known  *Encoded
}

// RememberEncoded keeps e for Send (Remember).
func (w *bufferedWriter) RememberEncoded(e *Encoded) { w.known = e }

func (w *bufferedWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *bufferedWriter) Write(p []byte) (int, error) { return w.buf.Write(p) }

// Status is the status written, 200 when none was.
func (w *bufferedWriter) Status() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}
