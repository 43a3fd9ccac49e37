package relay

import (
	"github.com/prometheus/client_golang/prometheus"

	sharedmetrics "canistry/pkg/metrics"
)

// metrics of the relay.
type metrics struct {
	calls    *prometheus.CounterVec   // upstream calls made, by route and result
	upstream *prometheus.HistogramVec // upstream latency by route
	copies   *prometheus.CounterVec   // copies answered, by how
	waits    *prometheus.CounterVec   // copies that waited for a running call: local or remote
	diverged prometheus.Counter
	rejected *prometheus.CounterVec
	perCall  prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "canistry_relay_calls_total",
			Help: "Relay calls decided by this notifier, by route and result (ok, upstream_timeout, …, too_many)."}, []string{"route", "result"}),
		upstream: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "canistry_relay_upstream_seconds",
			Help: "Latency of the upstream calls this notifier made, by route.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 15)}, []string{"route"}),
		copies: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "canistry_relay_copies_total",
			Help: "Relay copies answered, by how: executed (called the upstream), stored (replayed from the database), memory, waited_local, waited_remote."}, []string{"how"}),
		waits: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "canistry_relay_waits_total",
			Help: "Copies that waited for a running call: local (decided by another copy in this process) or remote (running on another notifier, polled in the database)."}, []string{"where"}),
		diverged: prometheus.NewCounter(prometheus.CounterOpts{Name: "canistry_relay_diverged_copies_total",
			Help: "Copies whose fingerprint differs from the first copy of the same Idempotency-Key (they get the stored reply)."}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "canistry_relay_rejected_total",
			Help: "Relay copies rejected before any call, by error code."}, []string{"code"}),
		perCall: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "canistry_relay_copies_per_call",
			Help:    "Copies of one call answered by this notifier, observed when its counts are written.",
			Buckets: []float64{1, 2, 4, 8, 13, 20, 28, 34, 40, 64}}),
	}
	if reg == nil {
		return m, nil
	}
	return m, sharedmetrics.Register(reg, "relay", m.calls, m.upstream, m.copies, m.waits, m.diverged, m.rejected, m.perCall)
}
