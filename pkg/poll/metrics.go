package poll

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	sharedmetrics "canistry/pkg/metrics"
	"canistry/pkg/registry"
)

// metrics are the poller's Prometheus collectors, registered on the registry given to New.
type metrics struct {
	sweepDuration *prometheus.HistogramVec
	sweepsSkipped prometheus.Counter
	refreshed     *prometheus.CounterVec
	failed        *prometheus.CounterVec
	skipped       *prometheus.CounterVec
	callDuration  *prometheus.HistogramVec
	requests      *prometheus.CounterVec
	due           prometheus.Gauge
	// unsuccessful counts the sweeps in a row that tried canisters and refreshed none.
	unsuccessful prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		sweepDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "canistry_poller_sweep_duration_seconds",
			Help:    "Duration of a sweep over every due canister, by trigger (schedule or request).",
			Buckets: []float64{0.1, 0.5, 1, 2.5, 5, 10, 15, 20, 30, 45, 60, 120, 300},
		}, []string{"trigger"}),
		sweepsSkipped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "canistry_poller_sweeps_skipped_total",
			Help: "Sweeps not started because the previous one was still running.",
		}),
		refreshed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "canistry_poller_canisters_refreshed_total",
			Help: "Canister refreshes that succeeded, by kind.",
		}, []string{"kind"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "canistry_poller_canisters_failed_total",
			Help: "Canister refreshes that failed (and were backed off), by kind.",
		}, []string{"kind"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "canistry_poller_canisters_skipped_total",
			Help: "Due canisters not refreshed by a sweep: already being refreshed, deleted meanwhile, or the sweep was stopped.",
		}, []string{"kind"}),
		callDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "canistry_poller_ic_call_duration_seconds",
			Help:    "Duration of one IC read (ic.Client Token, Miner, Wallet or Canister), by call and outcome.",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}, []string{"call", "outcome"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "canistry_poller_refresh_requests_total",
			Help: "Refresh requests received on canistry.refresh, by what became of them.",
		}, []string{"result"}),
		due: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "canistry_poller_due_canisters",
			Help: "Canisters due at the start of the last sweep.",
		}),
		unsuccessful: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "canistry_poller_sweeps_without_success",
			Help: "Sweeps in a row that tried to refresh canisters and refreshed none (every read failed); 0 after a sweep that refreshed one. Sweeps with nothing due leave it.",
		}),
	}
	// Every kind's series exist from the start, at 0: a rate over them is 0, not missing, until
	// the first refresh, failure or skip of that kind.
	for _, k := range registry.Kinds {
		m.refreshed.WithLabelValues(string(k))
		m.failed.WithLabelValues(string(k))
		m.skipped.WithLabelValues(string(k))
	}
	if err := sharedmetrics.Register(reg, "poller", m.sweepDuration, m.sweepsSkipped, m.refreshed, m.failed,
		m.skipped, m.callDuration, m.requests, m.due, m.unsuccessful); err != nil {
		return nil, err
	}
	return m, nil
}

// Refresh request results (label values of canistry_poller_refresh_requests_total).
const (
	requestStarted      = "started"       // a canister refresh started
	requestCoalesced    = "coalesced"     // merged into a refresh already running
	requestSweep        = "sweep"         // a sweep started
	requestSweepRunning = "sweep_running" // a sweep was already running
	requestUnknown      = "unknown"       // not a registered canister, or not a canister id
)

// observeSweep counts a finished sweep in the sweeps-without-success run.
func (m *metrics) observeSweep(res SweepResult) {
	switch {
	case res.Refreshed > 0:
		m.unsuccessful.Set(0)
	case res.Failed > 0:
		m.unsuccessful.Inc()
	}
}

func (m *metrics) observeCall(call string, start time.Time, err error) {
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	m.callDuration.WithLabelValues(call, outcome).Observe(time.Since(start).Seconds())
}
