// Package poll keeps the registry true: a cron schedule sweeps every due canister through a
// bounded worker pool, reads it from the IC by kind (token, miner, wallet, and the certified
// module hash and controllers of every canister), stores what changed, publishes events for
// it, and backs failing canisters off. Refreshes can also be requested on the bus.
//
// Timing. A scheduled sweep takes the canisters due at its start and gives each a fixed
// offset within the spread window (a quarter of the schedule's period by default, see
// Offset), so the IC sees the period's work spread out instead of a burst at the tick. The
// worker pool (Concurrency) and the rate limiter (NewClient) bound the work in flight, so a
// sweep lasts about max(spread window, due canisters ÷ throughput). The spread window must
// therefore stay well inside the period, and throughput must cover the registry within what
// remains; the cron chain skips a tick whose previous sweep still runs rather than overlapping
// it.
package poll

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/robfig/cron/v3"

	"canistry/pkg/bus"
	"canistry/pkg/ic"
	"canistry/pkg/store"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultSchedule    = "@every 1m"
	DefaultConcurrency = 16
	DefaultTimeout     = 30 * time.Second
	DefaultBackoffBase = time.Minute
	DefaultMaxBackoff  = time.Hour
	// pruneEvery is how often a sweep also prunes miner_stats.
	pruneEvery = time.Hour
)

// Config configures a Poller.
type Config struct {
	// Schedule is the cron schedule of the sweeps (REFRESH_SCHEDULE), e.g. "@every 1m".
	Schedule string
	// Concurrency is the number of canisters refreshed at once (REFRESH_CONCURRENCY).
	Concurrency int
	// Timeout bounds one canister's refresh, all its IC calls together (REFRESH_TIMEOUT).
	Timeout time.Duration
	// StatsRetention is how long miner_stats rows are kept (STATS_RETENTION); 0 keeps them.
	StatsRetention time.Duration
	// Spread is the window over which a scheduled sweep's start times are spread. 0 means a
	// quarter of the schedule's period; negative means no spreading.
	Spread time.Duration
	// BackoffBase and MaxBackoff shape the retry delay after failures (see Backoff).
	BackoffBase time.Duration
	MaxBackoff  time.Duration
	// Now is the clock for stored times and due checks; nil means time.Now.
	Now func() time.Time
	// Rand draws from [0, n) for backoff jitter; nil means math/rand/v2.
	Rand func(n int64) int64
	// Logger; nil discards.
	Logger *slog.Logger
	// Metrics receives the poller's collectors; nil registers nowhere.
	Metrics prometheus.Registerer
	// Instance names this poller among the pollers sharing the database: the owner of the
	// refresh leases its sweeps take. "" means hostname:pid.
	Instance string
}

// Poller refreshes canisters. Create it with New, then Start it; Stop ends it.
type Poller struct {
	cfg     Config
	period  time.Duration
	store   *store.Store
	ic      *ic.Client
	bus     *bus.Conn
	logger  *slog.Logger
	metrics *metrics
	sns     *snsCycles // SNS roots' summaries, shared by a sweep's refreshes of one DAO

	ctx    context.Context // ends at Stop: every sweep and refresh derives from it
	cancel context.CancelFunc
	wg     sync.WaitGroup // sweeps and on-demand refreshes in flight

	sweeping  sync.Mutex // held by the running sweep
	mu        sync.Mutex
	stopped   bool               // set by Stop: no new work starts
	inflight  map[string]*flight // canisters being refreshed, by id
	lastPrune time.Time
	onDemand  chan struct{} // semaphore of on-demand refreshes

	cron *cron.Cron
	job  cron.Job
	sub  *bus.Subscription
}

// New builds a Poller from cfg (zero fields get the defaults above).
func New(cfg Config, st *store.Store, client *ic.Client, conn *bus.Conn) (*Poller, error) {
	if cfg.Schedule == "" {
		cfg.Schedule = DefaultSchedule
	}
	sched, err := cron.ParseStandard(cfg.Schedule)
	if err != nil {
		return nil, fmt.Errorf("refresh schedule %q: %w", cfg.Schedule, err)
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = DefaultBackoffBase
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = prometheus.NewRegistry()
	}
	if cfg.Instance == "" {
		host, _ := os.Hostname()
		cfg.Instance = host + ":" + strconv.Itoa(os.Getpid())
	}
	next := sched.Next(time.Now())
	period := sched.Next(next).Sub(next)
	if cfg.Spread == 0 {
		cfg.Spread = period / 4
	}
	m, err := newMetrics(cfg.Metrics)
	if err != nil {
		return nil, fmt.Errorf("poller metrics: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Poller{cfg: cfg, period: period, store: st, ic: client, bus: conn,
		logger: cfg.Logger.With("component", "poller"), metrics: m, ctx: ctx, cancel: cancel,
		inflight: make(map[string]*flight), onDemand: make(chan struct{}, cfg.Concurrency), sns: newSNSCycles(period / 2)}
	cl := cronLogger{l: p.logger, onSkip: m.sweepsSkipped.Inc}
	// SkipIfStillRunning goes outside Recover: in the other order a panicking sweep would
	// never give back SkipIfStillRunning's token, and every later tick would be skipped.
	p.cron = cron.New(cron.WithLogger(cl), cron.WithChain(cron.SkipIfStillRunning(cl), cron.Recover(cl)),
		cron.WithParser(cron.NewParser(cron.Minute|cron.Hour|cron.Dom|cron.Month|cron.Dow|cron.Descriptor)))
	id, err := p.cron.AddFunc(cfg.Schedule, p.scheduledSweep)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("refresh schedule %q: %w", cfg.Schedule, err)
	}
	p.job = p.cron.Entry(id).WrappedJob
	return p, nil
}

// Start subscribes to refresh requests (queue group poller) and starts the schedule.
func (p *Poller) Start() error {
	sub, err := bus.Subscribe(p.bus, bus.SubjectRefresh, bus.QueueRefresh, p.handleRequest)
	if err != nil {
		return fmt.Errorf("start poller: %w", err)
	}
	p.sub = sub
	p.cron.Start()
	p.logger.Info("poller started", "schedule", p.cfg.Schedule, "period", p.period.String(),
		"concurrency", p.cfg.Concurrency, "timeout", p.cfg.Timeout.String(), "spread", max(p.cfg.Spread, 0).String())
	return nil
}

// Stop stops the schedule and the subscription, cancels the sweep and refreshes in flight
// (their IC calls end with their context), and waits for them to return or for ctx to end.
func (p *Poller) Stop(ctx context.Context) error {
	p.cron.Stop()
	var errs []error
	if p.sub != nil {
		if err := p.sub.Unsubscribe(); err != nil && p.bus.Connected() {
			errs = append(errs, fmt.Errorf("unsubscribe refresh requests: %w", err))
		}
	}
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	p.cancel()
	done := make(chan struct{})
	go func() {
		p.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("poller work still running at shutdown: %w", ctx.Err()))
	}
	return errors.Join(errs...)
}

// ScheduledJob is the job the schedule runs at each tick: a spread sweep wrapped in
// cron.SkipIfStillRunning and cron.Recover. It is exported so that tests can fire ticks
// without waiting for the clock.
func (p *Poller) ScheduledJob() cron.Job { return p.job }

func (p *Poller) scheduledSweep() {
	if _, err := p.sweep(p.ctx, triggerSchedule); err != nil && p.ctx.Err() == nil {
		p.logger.Error("sweep failed", "err", err)
	}
}

func (p *Poller) now() time.Time { return p.cfg.Now() }

// begin registers a unit of work (a sweep or an on-demand refresh) with Stop's wait group; it
// reports false once Stop has begun. Call p.wg.Done when the work ends.
func (p *Poller) begin() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return false
	}
	p.wg.Add(1)
	return true
}

// cronLogger adapts cron's logger to slog: routine messages at debug, skipped ticks as a
// warning (and a metric), errors (recovered panics) as errors.
type cronLogger struct {
	l      *slog.Logger
	onSkip func()
}

// Info implements cron.Logger.
func (c cronLogger) Info(msg string, kv ...any) {
	if msg == "skip" {
		c.onSkip()
		c.l.Warn("sweep skipped: the previous sweep is still running")
		return
	}
	c.l.Debug("cron: "+msg, kv...)
}

// Error implements cron.Logger.
func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error("cron: "+msg, append(kv, "err", err)...)
}
