// Package discover fills the registry from the chain. SNS discovery reads the NNS's SNS-W
// canister (list_deployed_snses), then each DAO's root (list_sns_canisters) and its ledger's
// symbol, and registers the DAO's root, governance, ledger (kind token), index, swap and
// archives, tagged sns:<root id> and named from the symbol (store.ApplyDiscovery: idempotent,
// never overwriting a name or kind set by hand, never registering again what was deleted by
// hand). It runs on a cron schedule (DISCOVER_SCHEDULE, daily) and on request over the bus
// (canistry.discover, from POST /discover/sns), and reports every run as a discovery.completed
// event and a discovery_runs row.
package discover

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"canistry/pkg/bus"
	"canistry/pkg/ic"
	"canistry/pkg/registry"
	"canistry/pkg/store"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultSchedule    = "@daily"
	DefaultTimeout     = 2 * time.Minute
	DefaultConcurrency = 4
	// maxErrors bounds the errors a run records (the counts stay exact).
	maxErrors = 20
)

// Triggers of a run.
const (
	TriggerSchedule = "schedule"
	TriggerRequest  = "request"
)

// ErrRunning is returned by Run while another run of this Discoverer is in progress.
var ErrRunning = errors.New("a discovery run is already in progress")

// Config configures a Discoverer.
type Config struct {
	// Schedule is the cron schedule (DISCOVER_SCHEDULE); "" runs only on request.
	Schedule string
	// SNSWasm is the SNS-W canister (SNS_WASM_CANISTER_ID); "" means mainnet's.
	SNSWasm registry.CanisterID
	// Timeout bounds one whole run, every IC call together.
	Timeout time.Duration
	// Concurrency is the number of DAOs read at once.
	Concurrency int
	// Now is the clock of run times; nil means time.Now.
	Now func() time.Time
	// Logger; nil discards.
	Logger *slog.Logger
}

// Discoverer runs discoveries. Create it with New, Start it, Stop it.
type Discoverer struct {
	cfg    Config
	store  *store.Store
	ic     *ic.Client
	bus    *bus.Conn
	logger *slog.Logger

	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	running sync.Mutex // held by the run in progress
	cron    *cron.Cron
	sub     *bus.Subscription
}

// New builds a Discoverer (zero Config fields get the defaults).
func New(cfg Config, st *store.Store, client *ic.Client, conn *bus.Conn) (*Discoverer, error) {
	if cfg.SNSWasm == "" {
		cfg.SNSWasm = ic.SNSWasm
	}
	if _, err := registry.ParseCanisterID(string(cfg.SNSWasm)); err != nil {
		return nil, fmt.Errorf("SNS-W canister: %w", err)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &Discoverer{cfg: cfg, store: st, ic: client, bus: conn, logger: cfg.Logger.With("component", "discover"),
		ctx: ctx, cancel: cancel, cron: cron.New()}
	if cfg.Schedule != "" {
		if _, err := d.cron.AddFunc(cfg.Schedule, func() { d.runLogged(TriggerSchedule) }); err != nil {
			cancel()
			return nil, fmt.Errorf("discover schedule %q: %w", cfg.Schedule, err)
		}
	}
	return d, nil
}

// Start subscribes to discovery requests (queue group poller) and starts the schedule.
func (d *Discoverer) Start() error {
	sub, err := bus.Subscribe(d.bus, bus.SubjectDiscover, bus.QueueRefresh, func(_ string, req bus.DiscoverRequest) {
		if req.Source != registry.DiscoverySNS {
			d.logger.Warn("discovery request for an unknown source ignored", "source", req.Source)
			return
		}
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			d.runLogged(TriggerRequest)
		}()
	})
	if err != nil {
		return fmt.Errorf("start discovery: %w", err)
	}
	d.sub = sub
	d.cron.Start()
	d.logger.Info("SNS discovery started", "schedule", d.cfg.Schedule, "sns_w", d.cfg.SNSWasm)
	return nil
}

// Stop ends the schedule and the subscription, cancels a run in progress and waits for it or
// for ctx.
func (d *Discoverer) Stop(ctx context.Context) error {
	stopped := d.cron.Stop()
	var errs []error
	if d.sub != nil {
		if err := d.sub.Unsubscribe(); err != nil && d.bus.Connected() {
			errs = append(errs, fmt.Errorf("unsubscribe discovery requests: %w", err))
		}
	}
	d.cancel()
	done := make(chan struct{})
	go func() {
		<-stopped.Done()
		d.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("discovery still running at shutdown: %w", ctx.Err()))
	}
	return errors.Join(errs...)
}

func (d *Discoverer) runLogged(trigger string) {
	run, err := d.Run(d.ctx, trigger)
	switch {
	case errors.Is(err, ErrRunning):
		d.logger.Info("discovery request ignored: a run is in progress")
	case err != nil && d.ctx.Err() == nil:
		d.logger.Error("SNS discovery failed", "trigger", trigger, "err", err)
	case err == nil:
		d.logger.Info("SNS discovery completed", "trigger", trigger, "daos", run.DAOs, "found", run.Found,
			"added", run.Added, "updated", run.Updated, "unchanged", run.Unchanged, "kept", run.Kept,
			"skipped", run.Skipped, "failed", run.Failed)
	}
}
