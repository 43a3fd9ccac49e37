package httpapi

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"canistry/pkg/httperror"
	"canistry/pkg/lifecycle"
	"canistry/pkg/registry"
)

// NewEngine returns a gin engine with JSON panic recovery, JSON 404/405 and a structured
// access log (debug level; errors ≥500 at warn). Register routes through [withHEAD] so that
// every GET route answers HEAD too. The middleware mw runs for every request, between the
// access log and the panic recovery (so a recovered panic's reply passes through it).
func NewEngine(logger *slog.Logger, mw ...gin.HandlerFunc) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	// The access log's client address believes X-Forwarded-For only from loopback (the api's
	// proxy in front of the notifier); gin's default trusts every peer.
	if err := r.SetTrustedProxies([]string{"127.0.0.0/8", "::1"}); err != nil {
		panic(err) // constant input
	}
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	r.Use(accessLog(logger))
	r.Use(mw...)
	r.Use(recovery(logger))
	r.NoRoute(func(c *gin.Context) {
		writeError(c, logger, registry.Errorf(registry.ENOTFOUND, "no route %s", c.Request.URL.Path)) // for any method (else 405): HEAD and GET alike
	})
	r.NoMethod(func(c *gin.Context) {
		// The one 405 of every binary: code invalid, Allow as gin computed it.
		c.Abort()
		httperror.WriteStatus(c.Writer, http.StatusMethodNotAllowed, registry.Errorf(registry.EINVALID,
			"method %s is not allowed on %s", c.Request.Method, c.Request.URL.Path))
	})
	return r
}

// withHEAD returns r with a GET that also registers HEAD on the same path and handlers, as
// RFC 9110 (9.3.2) expects wherever GET is served. The handlers run as for GET; net/http
// discards the body of a HEAD reply but keeps its status and headers, Content-Length
// included, so HEAD and GET answer alike.
func withHEAD(r gin.IRoutes) gin.IRoutes {
	if h, ok := r.(headRoutes); ok {
		return h
	}
	return headRoutes{r}
}

type headRoutes struct{ gin.IRoutes }

// GET registers path for GET and HEAD.
func (h headRoutes) GET(path string, handlers ...gin.HandlerFunc) gin.IRoutes {
	h.IRoutes.GET(path, handlers...)
	h.IRoutes.HEAD(path, handlers...)
	return h
}

func recovery(logger *slog.Logger) gin.HandlerFunc {
	return gin.CustomRecoveryWithWriter(nil, func(c *gin.Context, rec any) {
		writeError(c, logger, fmt.Errorf("panic: %v", rec))
	})
}

func accessLog(logger *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		status := c.Writer.Status()
		level := slog.LevelDebug
		if status >= 500 {
			level = slog.LevelWarn
		}
		logger.Log(c.Request.Context(), level, "http request", "method", c.Request.Method,
			"path", c.Request.URL.Path, "status", status, "took", time.Since(start), "remote", c.ClientIP())
	}
}

// NewMetricsRegistry returns a binary's Prometheus registry (lifecycle.NewMetricsRegistry).
func NewMetricsRegistry() *prometheus.Registry { return lifecycle.NewMetricsRegistry() }

// Probes are the checks behind /healthz, /readyz and /metrics (lifecycle.Probes).
type Probes = lifecycle.Probes

// mountProbes adds GET (and HEAD) /healthz, /readyz and /metrics: lifecycle's probe handler,
// the same one the poller serves alone.
func mountProbes(r gin.IRoutes, p Probes, logger *slog.Logger) {
	h := gin.WrapH(lifecycle.ProbeHandler(p, logger))
	r = withHEAD(r)
	for _, path := range lifecycle.ProbePaths {
		if path == "/metrics" && p.Metrics == nil {
			continue
		}
		r.GET(path, h)
	}
}
