package httpapi

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"canistry/pkg/config"
	"canistry/pkg/httperror"
	"canistry/pkg/registry"
)

// isNotifierPath reports whether path belongs to the notifier, which the api serves by proxy
// so that the classic single-origin URLs keep working. The outcall relay's /relay/<route>/…
// is the notifier's, but for its admin log, /relay/calls, which the api serves (api_relay.go;
// "calls" is no route name, relay.ParseRoutes).
func isNotifierPath(path string) bool {
	switch path {
	case "/ws", "/ws-status", "/test", "/miner-notifications":
		return true
	}
	if isRelayPath(path) {
		return true
	}
	return strings.HasPrefix(path, "/test/") || strings.HasPrefix(path, "/ws/")
}

// isRelayPath reports a path of the relay's calls (not of its admin log).
func isRelayPath(path string) bool {
	return strings.HasPrefix(path, "/relay/") && path != "/relay/calls" && !strings.HasPrefix(path, "/relay/calls/")
}

// relayWriteWindow is how long the api may take to write a relay reply: a copy waits for
// the upstream (at most config.OutcallDeadline), plus the leases of a crashed notifier.
const relayWriteWindow = config.OutcallWindow + 3*time.Minute

// proxyRoute is the route label of a proxied path: the path itself, /test/* for the page's
// files, /ws/* for the WebSocket client's (/ws/client.js, /ws/client.d.ts), /relay/* for the
// relay's calls.
func proxyRoute(path string) string {
	for _, dir := range []string{"/test/", "/ws/", "/relay/"} {
		if strings.HasPrefix(path, dir) {
			return dir + "*"
		}
	}
	return path
}

// withNotifierProxy sends the notifier's paths to proxy, ahead of the api's router, so that no
// middleware of the api (CORS, access log, recovery) touches those requests or replies.
func withNotifierProxy(api, proxy http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isNotifierPath(r.URL.Path) {
			if isRelayPath(r.URL.Path) { // copies may wait for a slow upstream: past the server's write timeout
				_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(relayWriteWindow))
			}
			proxy.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	})
}

// newNotifierProxy returns a reverse proxy to the notifier at target. It passes replies on
// exactly as the notifier wrote them: outcall replies must stay byte-identical (DESIGN.md,
// "Outcall intake"), so the api's http.Server must not add a Date or sniff a Content-Type the
// notifier left out. WebSocket upgrades pass through (httputil.ReverseProxy hijacks both sides
// and copies bytes). The request keeps the Host the client used, so that the notifier's
// same-origin check on /ws compares the browser's Origin with the api's host.
func newNotifierProxy(target *url.URL, logger *slog.Logger, errs *prometheus.CounterVec) http.Handler {
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host
			if prior := pr.In.Header["X-Forwarded-For"]; len(prior) > 0 {
				pr.Out.Header["X-Forwarded-For"] = prior
			}
			pr.SetXForwarded()
		},
		Transport: intakeRetry{next: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        128,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     90 * time.Second,
			TLSHandshakeTimeout: 10 * time.Second,
			// A relay copy's reply can take as long as its upstream, and a crashed notifier's
			// lease, allow (relayWriteWindow); the intake answers within seconds.
			ResponseHeaderTimeout: relayWriteWindow,
			// The client's Accept-Encoding passes through untouched; the transport must not
			// add gzip and then decode the reply, which would change its bytes.
			DisableCompression: true,
		}},
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil {
				return // the client went away; nobody reads an answer
			}
			logger.Warn("notifier unreachable", "method", r.Method, "path", r.URL.Path, "err", err)
			errs.WithLabelValues(proxyRoute(r.URL.Path)).Inc()
			httperror.WriteStatus(w, http.StatusBadGateway, registry.Errorf(registry.EUNAVAILABLE,
				"the notifier is unreachable; try again later"))
		},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		vw := &verbatimWriter{ResponseWriter: w}
		rp.ServeHTTP(vw, r)
		logger.Debug("proxied to notifier", "method", r.Method, "path", r.URL.Path, "status", vw.status, "took", time.Since(start))
	})
}

// verbatimWriter keeps net/http from adding headers the proxied reply did not have: a header
// key present with a nil value suppresses the server's own Date and Content-Type sniffing.
// Unwrap exposes the connection for hijacking (WebSocket) and flushing.
type verbatimWriter struct {
	http.ResponseWriter
	status int
}

// WriteHeader suppresses Date and Content-Type unless the reply set them.
func (w *verbatimWriter) WriteHeader(code int) {
	if code >= 200 && w.status == 0 {
		w.status = code
		h := w.Header()
		for _, k := range []string{"Date", "Content-Type"} {
			if _, ok := h[k]; !ok {
				h[k] = nil
			}
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write writes body bytes, sending the header first if needed.
func (w *verbatimWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap returns the underlying writer, for http.ResponseController.
func (w *verbatimWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// maxRetryBody is the largest outcall body the proxy keeps for a retry: the intake's own limit
// (notify.MaxBodyBytes); a larger body is refused by the notifier anyway.
const maxRetryBody = 64 << 10

// intakeRetry retries an outcall copy (POST /miner-notifications) on a fresh connection when the
// notifier closed the one it went out on before any reply came back, as a draining notifier
// does with its idle keep-alive connections. Go's Transport never retries a POST by itself.
// Retrying is safe because the intake is idempotent by dedup key: the copy gets the key's one
// stored reply whether or not the first attempt reached it. Nothing else is retried.
type intakeRetry struct{ next http.RoundTripper }

func (t intakeRetry) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodPost || r.URL.Path != "/miner-notifications" || r.Body == nil ||
		r.ContentLength < 0 || r.ContentLength > maxRetryBody {
		return t.next.RoundTrip(r)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRetryBody+1))
	_ = r.Body.Close()
	if err != nil {
		return nil, err
	}
	const attempts = 3
	for i := 1; ; i++ {
		req := r.Clone(r.Context())
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		resp, err := t.next.RoundTrip(req)
		if err == nil || i == attempts || r.Context().Err() != nil {
			return resp, err
		}
	}
}
