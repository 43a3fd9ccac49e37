package eventlog

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"canistry/pkg/metrics"
	"canistry/pkg/registry"
)

// RegisterMetrics exports the tailer's position and counters to reg (the hub's tailer in the
// notifier).
func (t *Tailer) RegisterMetrics(reg prometheus.Registerer) error {
	return metrics.Register(reg, "event log",
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "canistry_event_log_position", Help: "Id of the last event-log row the hub delivered."},
			func() float64 { return float64(t.Position()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "canistry_event_log_reads_total", Help: "Reads of the event log by the hub's tailer."},
			func() float64 { return float64(t.Stats().Reads) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "canistry_event_log_read_errors_total", Help: "Failed reads of the event log (retried)."},
			func() float64 { return float64(t.Stats().Errors) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "canistry_event_log_skipped_total", Help: "Event ids given up as never committed after the hold-back."},
			func() float64 { return float64(t.Stats().Skipped) }),
	)
}

// headTimeout bounds the database read behind canistry_event_log_head at scrape time.
const headTimeout = 3 * time.Second

var headDesc = prometheus.NewDesc("canistry_event_log_head",
	"Id of the newest event-log row in the database (read at scrape time): minus canistry_event_log_position, how far the hub lags behind the log.", nil, nil)

// RegisterHeadMetric exports canistry_event_log_head, read through bounds (store.EventLogBounds)
// at each scrape; a failed read leaves the series out of that scrape (canistry_ready says why).
func RegisterHeadMetric(reg prometheus.Registerer, bounds func(context.Context) (registry.LogBounds, error)) error {
	return metrics.Register(reg, "event log head", headCollector(bounds))
}

type headCollector func(context.Context) (registry.LogBounds, error)

func (h headCollector) Describe(ch chan<- *prometheus.Desc) { ch <- headDesc }

func (h headCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), headTimeout)
	defer cancel()
	b, err := h(ctx)
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(headDesc, prometheus.GaugeValue, float64(b.Head))
}
