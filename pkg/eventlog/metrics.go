package eventlog

import (
	"github.com/prometheus/client_golang/prometheus"

	"canistry/pkg/metrics"
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
