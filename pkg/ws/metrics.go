package ws

import (
	"github.com/prometheus/client_golang/prometheus"

	"canistry/pkg/metrics"
)

// RegisterMetrics exports the hub's counters (the same as GET /ws-status) to reg.
func (h *Hub) RegisterMetrics(reg prometheus.Registerer) error {
	return metrics.Register(reg, "websocket",
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "canistry_ws_clients", Help: "WebSocket clients connected."},
			func() float64 { return float64(h.Status().Clients) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "canistry_ws_messages_sent_total", Help: "WebSocket messages written to clients."},
			func() float64 { return float64(h.Status().MessagesSent) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "canistry_ws_dropped_slow_total", Help: "WebSocket clients disconnected for not keeping up."},
			func() float64 { return float64(h.Status().DroppedSlow) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "canistry_ws_connections_total", Help: "WebSocket connections accepted."},
			func() float64 { return float64(h.Status().ConnectionsTotal) }),
	)
}
