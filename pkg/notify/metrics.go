package notify

import (
	"github.com/prometheus/client_golang/prometheus"

	sharedmetrics "canistry/pkg/metrics"
)

// metrics of the intake; every series is created up front so the hot path only increments.
type metrics struct {
	claimed     prometheus.Counter
	replayedMem prometheus.Counter
	replayedDB  prometheus.Counter
	rejected    *prometheus.CounterVec
	diverged    prometheus.Counter
	limited     prometheus.Counter
	published   prometheus.Counter
	pubErrors   prometheus.Counter
	decide      prometheus.Histogram
	abandoned   prometheus.Counter

	copiesPerOutcall prometheus.Histogram
	spread           prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	copies := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "canistry_notify_copies_total",
		Help: "Outcall copies answered, by how: claimed (the first, which has the effect), replayed_memory, replayed_db.",
	}, []string{"result"})
	m := &metrics{
		claimed:     copies.WithLabelValues("claimed"),
		replayedMem: copies.WithLabelValues("replayed_memory"),
		replayedDB:  copies.WithLabelValues("replayed_db"),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "canistry_notify_rejected_total",
			Help: "Outcall copies rejected, by error code (unauthorized, invalid, too_large, unsupported, too_many, ...).",
		}, []string{"code"}),
		diverged: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "canistry_notify_diverged_copies_total",
			Help: "Copies whose body differed from the first copy of the same dedup key (replica divergence).",
		}),
		limited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "canistry_notify_rate_limited_total",
			Help: "New notifications refused by the per-key or per-miner rate limit.",
		}),
		published: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "canistry_notify_published_total",
			Help: "Notification events published on the bus (one per claimed notification).",
		}),
		pubErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "canistry_notify_publish_errors_total",
			Help: "Events or refresh triggers that could not be published (the event stays replayable from the database).",
		}),
		decide: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "canistry_notify_claim_batch_seconds",
			Help:    "Time to commit one batch of claims (group commit of concurrent new notifications).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 12),
		}),
		abandoned: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "canistry_notify_claims_abandoned_total",
			Help: "New notifications answered 503 before any write carried them (the database was locked, down or slow past the decide timeout): never stored.",
		}),
		// 13, 28 and 34 are the replicated subnets' sizes; 1 is a non-replicated outcall.
		copiesPerOutcall: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "canistry_notify_copies_per_outcall",
			Help:    "Copies received per notification, observed when its dedup window ends (1 = a non-replicated outcall, normal).",
			Buckets: []float64{1, 2, 4, 7, 13, 20, 28, 34, 40, 64, 128},
		}),
		spread: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "canistry_notify_copy_spread_seconds",
			Help:    "Time from a notification's first copy to its last recorded one, observed when its dedup window ends (the IC waits up to 120 s).",
			Buckets: []float64{0, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 150},
		}),
	}
	if reg == nil {
		return m, nil
	}
	if err := sharedmetrics.Register(reg, "notify", copies, m.rejected, m.diverged, m.limited, m.published,
		m.pubErrors, m.decide, m.abandoned, m.copiesPerOutcall, m.spread); err != nil {
		return nil, err
	}
	return m, nil
}
