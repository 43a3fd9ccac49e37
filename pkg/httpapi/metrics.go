package httpapi

import (
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"canistry/pkg/httpserver"
)

// apiMetrics are the HTTP series every server has (httpserver.Metrics) and the api's own: its
// read cache and its proxy to the notifier.
type apiMetrics struct {
	*httpserver.Metrics
	cache       *prometheus.CounterVec
	proxyErrors *prometheus.CounterVec
}

// newAPIMetrics makes the series and registers them with reg (nil: not exported, still counted).
func newAPIMetrics(reg *prometheus.Registry) *apiMetrics {
	m := &apiMetrics{
		Metrics: httpserver.NewMetrics(reg),
		cache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "canistry_api_read_cache_requests_total",
			Help: "Registry reads answered from the api's read cache (result=hit) or by the handler (result=miss).",
		}, []string{"result"}),
		proxyErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "canistry_api_proxy_errors_total",
			Help: "Requests the api could not pass to the notifier (answered 502), by route.",
		}, []string{"route"}),
	}
	if reg != nil {
		m.cache = httpserver.RegisterOnce(reg, m.cache)
		m.proxyErrors = httpserver.RegisterOnce(reg, m.proxyErrors)
	}
	m.cache.WithLabelValues("hit") // both series exist from the start
	m.cache.WithLabelValues("miss")
	return m
}

// middleware measures a gin route; it runs outside the reply encoder, so the time includes
// compressing and writing the reply.
func (m *apiMetrics) middleware(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = httpserver.UnmatchedRoute
	}
	m.Observe(route, c.Request.Method, c.Writer.Status(), time.Since(start))
}
