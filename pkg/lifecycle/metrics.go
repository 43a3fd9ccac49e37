package lifecycle

import (
	"context"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"canistry/pkg/httpserver"
	"canistry/pkg/metrics"
	"canistry/pkg/version"
)

// readyProbeTimeout bounds the readiness check a scrape runs (canistry_ready): a database that
// does not answer within it counts as not ready, and the scrape is not held longer.
const readyProbeTimeout = 3 * time.Second

// NewMetricsRegistry returns the binary's Prometheus registry (httpserver.NewMetricsRegistry)
// with the series every binary shares registered on it: what alerts about a process that runs
// but cannot do its work need (scripts/monitoring/canistry.rules.yml).
//
//	canistry_build_info{binary,version,goversion}          1
//	canistry_ready                                         1 when /readyz would answer 200 (run at scrape time)
//	canistry_storage_failing                               1 while the last write failed for lack of storage
//	canistry_heartbeat_last_success_timestamp_seconds      the last heartbeat row written (start time before the first)
//	canistry_heartbeat_interval_seconds                    HEARTBEAT_INTERVAL
//	canistry_tls_certificate_not_after_timestamp_seconds   the served certificate's notAfter (USE_HTTPS only)
func (b *Base) NewMetricsRegistry() (*prometheus.Registry, error) {
	reg := httpserver.NewMetricsRegistry()
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	b.lastBeat.Store(b.Started.UnixNano())
	err := metrics.Register(reg, "lifecycle",
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "canistry_build_info", ConstLabels: buildInfoLabels(b.Name),
			Help: "Always 1; the labels name the binary, its version and the Go version it was built with."}, func() float64 { return 1 }),
		gauge("canistry_ready", "1 when the binary is ready (the /readyz check: database answers, last write had storage, bus connected), else 0; checked at scrape time.", b.readyValue),
		gauge("canistry_storage_failing", "1 while the last database write failed for lack of storage (disk full or I/O error), until a write succeeds again.",
			func() float64 { return boolValue(b.Store.StorageFailing()) }),
		gauge("canistry_heartbeat_last_success_timestamp_seconds", "Unix time of the last heartbeat row this process wrote (its start before the first).",
			func() float64 { return float64(b.lastBeat.Load()) / 1e9 }),
		gauge("canistry_heartbeat_interval_seconds", "HEARTBEAT_INTERVAL: how often this process writes its heartbeat row.",
			func() float64 { return b.Config.HeartbeatInterval.Seconds() }),
		certificateCollector{b},
	)
	if err != nil {
		return nil, err
	}
	return reg, nil
}

func (b *Base) readyValue() float64 {
	ctx, cancel := context.WithTimeout(context.Background(), readyProbeTimeout)
	defer cancel()
	return boolValue(b.Ready(ctx) == nil)
}

func boolValue(v bool) float64 {
	if v {
		return 1
	}
	return 0
}

// buildInfoLabels are canistry_build_info's labels.
func buildInfoLabels(binary string) prometheus.Labels {
	return prometheus.Labels{"binary": binary, "version": version.Version, "goversion": runtime.Version()}
}

var certNotAfterDesc = prometheus.NewDesc("canistry_tls_certificate_not_after_timestamp_seconds",
	"Unix time at which the TLS certificate this binary serves expires (its notAfter); only with USE_HTTPS.", nil, nil)

// certificateCollector exports the served certificate's notAfter once TLS has loaded it; a
// renewed certificate shows as soon as a handshake has picked it up.
type certificateCollector struct{ b *Base }

func (c certificateCollector) Describe(ch chan<- *prometheus.Desc) { ch <- certNotAfterDesc }

func (c certificateCollector) Collect(ch chan<- prometheus.Metric) {
	certs := c.b.certs.Load()
	if certs == nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(certNotAfterDesc, prometheus.GaugeValue, float64(certs.Leaf().NotAfter.Unix()))
}
