package httpapi

import (
	"bytes"
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"canistry/pkg/httpserver"
)

// readCache keeps whole 200 replies of the public registry reads, keyed by request URI, for as
// long as the database has not changed. "Changed" is SQLite's data_version as seen by the api,
// which moves on every commit of any connection — the api's own writes and those of the poller
// and the notifier processes — so a cached reply is never older than the data it came from:
// reads stay read-your-writes. maxAge bounds the few fields that depend on the clock rather than
// on the data (the stale flag), and maxBytes bounds memory; past it the cache starts over.
type readCache struct {
	version  func(ctx context.Context) (int64, error)
	now      func() time.Time
	maxAge   time.Duration
	maxBytes int
	hits     prometheus.Counter // canistry_api_read_cache_requests_total{result="hit"}
	misses   prometheus.Counter // … {result="miss"}, resolved once, not per request
	enc      *httpserver.Encoder

	mu      sync.Mutex
	at      int64 // the data version the entries belong to
	probed  bool  // at is a probe's answer (lookup has run)
	size    int
	entries map[string]*cachedReply
}

type cachedReply struct {
	header  http.Header
	body    *httpserver.Encoded // the body, with its ETag and gzipped form made once for all hits
	created time.Time
}

func newReadCache(version func(context.Context) (int64, error), now func() time.Time, counts *prometheus.CounterVec, enc *httpserver.Encoder) *readCache {
	return &readCache{version: version, now: now, maxAge: time.Second, maxBytes: 32 << 20,
		hits: counts.WithLabelValues("hit"), misses: counts.WithLabelValues("miss"), enc: enc,
		entries: map[string]*cachedReply{}}
}

// dataVersionKey is the gin context key under which the middleware leaves the request's
// *requestVersion: the data version the request is answered at.
const dataVersionKey = "canistry.data_version"

// maxCachedBody is the largest reply kept (a page of 500 canisters fits).
const maxCachedBody = 1 << 20

// middleware serves a cached reply when there is one for this URI and data version, and
// otherwise records the handler's reply for the next request. A request with If-None-Match is
// served too: the reply encoder outside turns a cached 200 whose ETag matches into a 304.
//
// A request whose URI has no reply in the cache is a miss at any version, so it does not wait
// for a probe (issue 26: the probe was a fifth of an uncached point read): its reply is stored
// under the version the entries belong to, which a probe read before this handler reads the
// data, so the reply is never older than that version, and it is dropped with the others as
// soon as a probe sees a newer one. What needs the current version (the list totals,
// totalKey) probes on first use through the request's requestVersion.
func (rc *readCache) middleware(c *gin.Context) {
	r := c.Request
	if r.Method != http.MethodGet || r.Header.Get("If-Modified-Since") != "" {
		c.Next()
		return
	}
	key := r.URL.RequestURI()
	rv := &requestVersion{probe: func() (int64, error) { return rc.version(r.Context()) }}
	c.Set(dataVersionKey, rv) // list totals key on it too (totalKey)
	v, held := rc.held(key)
	if held {
		var err error
		if v, err = rv.get(); err != nil { // the handler will meet the same problem and report it
			c.Next()
			return
		}
		if e := rc.lookup(v, key); e != nil {
			rc.serve(c, e)
			return
		}
	}
	rc.misses.Inc()
	rec := &recordingWriter{ResponseWriter: c.Writer}
	c.Writer = rec
	c.Next()
	c.Writer = rec.ResponseWriter
	if rec.Status() == http.StatusOK && !rec.tooBig {
		body := rc.enc.NewEncoded(rec.buf.Bytes())
		httpserver.Remember(c.Writer, body)
		rc.store(v, key, &cachedReply{header: rec.Header().Clone(), body: body, created: rc.now()})
	}
}

// serve answers c with the cached reply e.
func (rc *readCache) serve(c *gin.Context, e *cachedReply) {
	rc.hits.Inc()
	h := c.Writer.Header()
	for k, vals := range e.header {
		h[k] = vals
	}
	httpserver.Remember(c.Writer, e.body)
	c.Status(http.StatusOK)
	_, _ = c.Writer.Write(e.body.Body())
	c.Abort()
}

// held reports whether the request for key needs the current data version: the cache holds a
// reply for key (of any age), or no probe has told it a version yet. Otherwise it returns the
// version the entries belong to.
func (rc *readCache) held(key string) (int64, bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.at, !rc.probed || rc.entries[key] != nil
}

// requestVersion is the data version one request is answered at, probed once, when first
// asked for.
type requestVersion struct {
	probe func() (int64, error)
	once  sync.Once
	v     int64
	err   error
}

func (rv *requestVersion) get() (int64, error) {
	rv.once.Do(func() { rv.v, rv.err = rv.probe() })
	return rv.v, rv.err
}

func (rc *readCache) lookup(v int64, key string) *cachedReply {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.probed = true
	if v != rc.at {
		rc.at, rc.size, rc.entries = v, 0, map[string]*cachedReply{}
		return nil
	}
	e := rc.entries[key]
	if e == nil || rc.now().Sub(e.created) > rc.maxAge {
		return nil
	}
	return e
}

func (rc *readCache) store(v int64, key string, e *cachedReply) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.probed = true
	if v != rc.at { // the data moved on while the handler ran
		return
	}
	if rc.size+len(e.body.Body()) > rc.maxBytes {
		rc.size, rc.entries = 0, map[string]*cachedReply{}
	}
	if old := rc.entries[key]; old != nil {
		rc.size -= len(old.body.Body())
	}
	rc.entries[key] = e
	rc.size += len(e.body.Body())
}

// recordingWriter copies what the handler writes, up to maxCachedBody.
type recordingWriter struct {
	gin.ResponseWriter
	buf    bytes.Buffer
	tooBig bool
}

func (w *recordingWriter) Write(p []byte) (int, error) {
	w.keep(p)
	return w.ResponseWriter.Write(p)
}

func (w *recordingWriter) WriteString(s string) (int, error) {
	w.keep([]byte(s))
	return w.ResponseWriter.WriteString(s)
}

func (w *recordingWriter) keep(p []byte) {
	if w.tooBig || w.buf.Len()+len(p) > maxCachedBody {
		w.tooBig = true
		w.buf = bytes.Buffer{}
		return
	}
	w.buf.Write(p)
}
