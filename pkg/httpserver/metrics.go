package httpserver

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// UnmatchedRoute is the route label of requests no route matched (404, 405): the path itself
// would let any client create series.
const UnmatchedRoute = "unmatched"

// Metrics are the canistry series of one binary's HTTP server, labelled by route template
// (gin's "/canisters/:id", never the path itself), method and status code.
type Metrics struct {
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	authFailures *prometheus.CounterVec
}

// NewMetrics makes the series and registers them with reg (nil: not exported, still counted).
// A second router on the same registry shares the first one's series.
func NewMetrics(reg *prometheus.Registry) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "canistry_http_requests_total",
			Help: "HTTP requests answered, by route template, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "canistry_http_request_duration_seconds",
			Help:    "Time from the request reaching the router to the reply's last byte written, by route template, method and status code.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}, []string{"route", "method", "code"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "canistry_http_auth_failures_total",
			Help: "Requests refused for missing or wrong credentials (401) or a forbidden key or origin (403), by route template and status code.",
		}, []string{"route", "code"}),
	}
	if reg != nil {
		m.requests = RegisterOnce(reg, m.requests)
		m.duration = RegisterOnce(reg, m.duration)
		m.authFailures = RegisterOnce(reg, m.authFailures)
	}
	return m
}

// RegisterOnce registers c, or returns the collector already registered under its name.
func RegisterOnce[C prometheus.Collector](reg *prometheus.Registry, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err) // constant descriptors: only a programming error gets here
	}
	return c
}

// Observe counts one answered request.
func (m *Metrics) Observe(route, method string, code int, took time.Duration) {
	method = methodLabel(method)
	status := strconv.Itoa(code)
	m.requests.WithLabelValues(route, method, status).Inc()
	m.duration.WithLabelValues(route, method, status).Observe(took.Seconds())
	if code == http.StatusUnauthorized || code == http.StatusForbidden {
		m.authFailures.WithLabelValues(route, status).Inc()
	}
}

// methodLabel bounds the method label to the methods the servers know.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodOptions, http.MethodPatch:
		return m
	}
	return "OTHER"
}

// Wrap measures a handler under one route name. The writer it hands on changes no byte of the
// reply (the intake's replies must stay identical); it only notes the status, and keeps
// hijacking (WebSocket upgrades, status 101) and flushing working.
func (m *Metrics) Wrap(route string, h http.Handler) http.Handler {
	return m.WrapRoutes(func(*http.Request) string { return route }, h)
}

// WrapRoutes is Wrap with the route name taken from each request (after h has served it).
func (m *Metrics) WrapRoutes(route func(*http.Request) string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		code := sw.status
		if code == 0 {
			code = http.StatusOK
		}
		m.Observe(route(r), r.Method, code, time.Since(start))
	})
}

// statusWriter notes the status a handler sends.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Hijack hands the connection over (gorilla/websocket asserts http.Hijacker); the reply is
// then the handler's own: 101 Switching Protocols when it upgrades.
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil && w.status == 0 {
		w.status = http.StatusSwitchingProtocols
	}
	return conn, rw, err
}

// Flush sends what is buffered.
func (w *statusWriter) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

// Unwrap returns the underlying writer, for http.ResponseController.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
