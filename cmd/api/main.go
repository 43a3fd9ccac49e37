// Command api serves canistry's REST registry, hosts the embedded NATS server and proxies the
// notifier's routes so that one origin serves everything.
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"time"

	"github.com/robfig/cron/v3"

	"canistry/pkg/httpapi"
	"canistry/pkg/httpserver"
	"canistry/pkg/lifecycle"
)

func main() { os.Exit(lifecycle.Main("api", run)) }

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, opts lifecycle.Options) error {
	opts.EmbedNATS = true
	b, err := lifecycle.Start(ctx, "api", args, getenv, stdout, opts)
	if b == nil || err != nil { // nil Base: --version, --help or check-config answered
		return err
	}
	defer b.Close()
	cfg := b.Config
	ln, err := b.Listen(ctx, cfg.APIAddr, cfg.IPv6Only)
	if err != nil {
		return err
	}
	notifierURL, err := url.Parse(cfg.NotifierURL)
	if err != nil {
		return fmt.Errorf("NOTIFIER_URL: %w", err)
	}
	if ip := net.ParseIP(notifierURL.Hostname()); notifierURL.Scheme == "https" && ip != nil && ip.IsLoopback() {
		b.Logger.Warn("NOTIFIER_URL is https on a loopback address: the proxy verifies the notifier's certificate against that address " +
			"and the system roots, which a certificate for the public name fails (502); use http://[::1]:8081, which the notifier serves to loopback peers")
	}
	if cfg.AdminAPIKey == "" {
		b.Logger.Warn("ADMIN_API_KEY is not set: every REST write answers 401 until it is")
	}
	metrics, err := b.NewMetricsRegistry()
	if err != nil {
		return err
	}
	handler := httpapi.NewAPIHandler(httpapi.APIDeps{
		Store:  b.Store,
		Bus:    b.Bus,
		Logger: b.Logger,
		Probes: httpserver.Probes{Ready: b.Ready, Metrics: metrics, Database: b.Store.Backend()},
		Status: httpapi.StatusDeps{
			Store:       b.Store,
			NATS:        natsState(b),
			Started:     b.Started,
			AliveWithin: 3 * cfg.HeartbeatInterval,
			AdminAPIKey: cfg.AdminAPIKey,
		},
		AdminAPIKey:       cfg.AdminAPIKey,
		AdminAuthFailures: cfg.AdminAuthFailures,
		AdminAuthWindow:   cfg.AdminAuthWindow,
		NotifierURL:       notifierURL,
		StaleAfter:        staleAfter(cfg.RefreshSchedule),
		LocalDev:          cfg.LocalDev,
	})
	tlsConfig, err := b.TLS()
	if err != nil {
		return err
	}
	b.StartHeartbeat(ln.Addr().String())
	srv := b.Serve(ln, handler, tlsConfig)
	b.Serving(ln.Addr(), "tls", tlsConfig != nil, "nats", b.ShownNATSURL(), "database", b.Store.Path())
	return b.Wait(ctx, srv.Done())
}

// staleAfter is how old a canister's last successful refresh may be before the api marks its
// data stale: three refresh periods of the poller's schedule, so that one slow or failed sweep
// does not flag everything.
func staleAfter(schedule string) time.Duration {
	s, err := cron.ParseStandard(schedule)
	if err != nil {
		return httpapi.DefaultStaleAfter // config.Load has validated the schedule already
	}
	first := s.Next(time.Now())
	period := s.Next(first).Sub(first)
	return max(3*period, time.Minute)
}

func natsState(b *lifecycle.Base) func() httpapi.NATSState {
	return func() httpapi.NATSState {
		s := httpapi.NATSState{Embedded: b.NATS != nil, URL: b.ShownNATSURL(), Connected: b.Bus.Connected(), Status: b.Bus.Status()}
		if b.NATS != nil {
			n := b.NATS.NumClients()
			s.Clients = &n
		}
		return s
	}
}
