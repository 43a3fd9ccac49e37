// Command poller keeps the registry true: cron sweeps read every registered canister through
// agent-go and store what changed; NATS requests trigger refreshes on demand.
package main

import (
	"context"
	"io"
	"os"

	"github.com/prometheus/client_golang/prometheus"

	"canistry/pkg/discover"
	"canistry/pkg/httpserver"
	"canistry/pkg/ic"
	"canistry/pkg/lifecycle"
	"canistry/pkg/poll"
	"canistry/pkg/registry"
)

func main() { os.Exit(lifecycle.Main("poller", run)) }

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, opts lifecycle.Options) error {
	b, err := lifecycle.Start(ctx, "poller", args, getenv, stdout, opts)
	if b == nil || err != nil { // nil Base: --version, --help or check-config answered
		return err
	}
	defer b.Close()
	ln, err := b.Listen(ctx, b.Config.PollerAddr, false)
	if err != nil {
		return err
	}
	metrics, err := b.NewMetricsRegistry()
	if err != nil {
		return err
	}
	handler := httpserver.ProbeHandler(httpserver.Probes{Ready: b.Ready, Metrics: metrics, Database: b.Store.Backend()}, b.Logger)
	b.StartHeartbeat(ln.Addr().String())
	srv := b.Serve(ln, handler, nil)
	if err := startPoller(ctx, b, metrics); err != nil {
		return err
	}
	b.Serving(ln.Addr(), "nats", b.ShownNATSURL(), "database", b.Store.Path())
	return b.Wait(ctx, srv.Done())
}

// startPoller builds the process's one IC client, the poller and the SNS discovery, starts
// them, and pushes their Stops, which cancel the work in flight, so that shutdown mid-sweep
// returns promptly.
func startPoller(ctx context.Context, b *lifecycle.Base, metrics prometheus.Registerer) error {
	cfg := b.Config
	client, err := poll.NewClient(ctx, ic.Config{URL: cfg.ICURL, FetchRootKey: cfg.ICFetchRootKey,
		VerifyQuerySignatures: cfg.ICVerifyQuerySignatures, Timeout: cfg.RefreshTimeout, Logger: b.Logger},
		cfg.RefreshRate)
	if err != nil {
		return err
	}
	p, err := poll.New(poll.Config{Schedule: cfg.RefreshSchedule, Concurrency: cfg.RefreshConcurrency,
		Timeout: cfg.RefreshTimeout, StatsRetention: cfg.StatsRetention, Logger: b.Logger, Metrics: metrics},
		b.Store, client, b.Bus)
	if err != nil {
		return err
	}
	if err := p.Start(); err != nil {
		return err
	}
	b.Stack.Push("poller", p.Stop)
	d, err := discover.New(discover.Config{Schedule: cfg.DiscoverSchedule, SNSWasm: registry.CanisterID(cfg.SNSWasmCanisterID),
		Logger: b.Logger}, b.Store, client, b.Bus)
	if err != nil {
		return err
	}
	if err := d.Start(); err != nil {
		return err
	}
	b.Stack.Push("discovery", d.Stop)
	return nil
}
