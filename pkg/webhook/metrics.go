package webhook

import (
	"github.com/prometheus/client_golang/prometheus"

	"canistry/pkg/metrics"
)

// RegisterMetrics exports the worker's counters (Stats) to reg.
func (w *Worker) RegisterMetrics(reg prometheus.Registerer) error {
	return metrics.Register(reg, "webhook",
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "canistry_webhook_endpoints", Help: "Webhook endpoints this notifier holds the lease of (delivers to)."},
			func() float64 { return float64(w.Stats().Endpoints) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "canistry_webhook_deliveries_total", Help: "Webhook events delivered (2xx replies)."},
			func() float64 { return float64(w.delivered.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "canistry_webhook_failed_attempts_total", Help: "Webhook delivery attempts that failed (retried, or the endpoint marked failing)."},
			func() float64 { return float64(w.failed.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "canistry_webhook_marked_failing_total", Help: "Webhook endpoints this notifier marked failing after the retry budget."},
			func() float64 { return float64(w.failing.Load()) }),
	)
}
