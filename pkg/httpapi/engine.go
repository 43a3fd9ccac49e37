package httpapi

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"canistry/pkg/httperror"
	"canistry/pkg/httpserver"
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
	r.Use(recovery(logger), renderFailures(logger))
	r.NoRoute(func(c *gin.Context) {
		writeError(c, logger, registry.Errorf(registry.ENOTFOUND, "no route %s", c.Request.URL.Path)) // for any method (else 405): HEAD and GET alike
	})
	r.NoMethod(func(c *gin.Context) {
		// The one 405 of every binary (httperror.MethodNotAllowed), Allow as gin computed it.
		c.Abort()
		httperror.MethodNotAllowed(c.Writer, c.Request.Method, strings.Split(c.Writer.Header().Get("Allow"), ", ")...)
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

// renderFailures answers a reply that failed to render (c.JSON of a value encoding/json
// refuses, such as +Inf) as the internal error it is. gin sets the status before it encodes
// and only records the error, so the client would get that status with an empty body (a 200
// that no JSON client can decode).
func renderFailures(logger *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Next()
		if err := c.Errors.Last(); err != nil && !c.Writer.Written() {
			writeError(c, logger, fmt.Errorf("render the reply: %w", err.Err))
		}
	}
}

func accessLog(logger *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		httpserver.LogRequest(logger, c.Request, c.Writer.Status(), time.Since(start), c.ClientIP())
	}
}

// mountProbes adds GET (and HEAD) /healthz, /readyz and /metrics: httpserver's probe handler,
// the same one the poller serves alone.
func mountProbes(r gin.IRoutes, p httpserver.Probes, logger *slog.Logger) {
	h := gin.WrapH(httpserver.ProbeHandler(p, logger))
	r = withHEAD(r)
	for _, path := range httpserver.ProbePaths {
		if path == "/metrics" && p.Metrics == nil {
			continue
		}
		r.GET(path, h)
	}
}
