package httpserver

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"canistry/pkg/httperror"
	"canistry/pkg/registry"
)

// NewMetricsRegistry returns a Prometheus registry with the Go runtime and process collectors.
// Each binary owns one; nothing registers globally.
func NewMetricsRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Probes are the checks behind /healthz, /readyz and /metrics, the same in every binary.
type Probes struct {
	// Ready reports whether the binary can do its work (database and bus reachable).
	Ready   func(ctx context.Context) error
	Metrics *prometheus.Registry
	// Database names the database backend ("sqlite" or "postgres"); when set, a ready
	// /readyz says which: {"status":"ready","database":"postgres"}.
	Database string
}

// ProbePaths are the paths ProbeHandler serves.
var ProbePaths = []string{"/healthz", "/readyz", "/metrics"}

// ProbeHandler serves GET and HEAD /healthz (alive), /readyz (ready, else 503) and /metrics,
// on net/http alone: it is the poller's whole HTTP surface, and the api and the notifier mount
// it on their routers. Other paths are 404 and other methods 405, in the one error shape.
func ProbeHandler(p Probes, logger *slog.Logger) http.Handler {
	var metrics http.Handler
	if p.Metrics != nil {
		metrics = promhttp.HandlerFor(p.Metrics, promhttp.HandlerOpts{Registry: p.Metrics})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		known := r.URL.Path == "/healthz" || r.URL.Path == "/readyz" || (r.URL.Path == "/metrics" && metrics != nil)
		switch {
		case !known:
			httperror.Write(w, registry.Errorf(registry.ENOTFOUND, "no route %s", r.URL.Path))
			return
		case r.Method != http.MethodGet && r.Method != http.MethodHead:
			httperror.MethodNotAllowed(w, r.Method, http.MethodGet, http.MethodHead)
			return
		}
		switch r.URL.Path {
		case "/healthz":
			writeJSON(w, `{"status":"ok"}`)
		case "/readyz":
			if p.Ready != nil {
				if err := p.Ready(r.Context()); err != nil {
					logger.Warn("not ready", "err", err)
					httperror.Write(w, registry.WrapError(registry.EUNAVAILABLE, "not ready: "+err.Error(), err))
					return
				}
			}
			if p.Database != "" {
				writeJSON(w, `{"status":"ready","database":`+strconv.Quote(p.Database)+`}`)
				return
			}
			writeJSON(w, `{"status":"ready"}`)
		default:
			metrics.ServeHTTP(w, r)
		}
	})
}

func writeJSON(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(body))
}
