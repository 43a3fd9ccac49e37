package poll

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"canistry/pkg/registry"
)

// Sweep triggers (label values of the sweep duration histogram).
const (
	triggerSchedule = "schedule"
	triggerRequest  = "request"
)

// ErrSweepRunning is returned by Sweep while another sweep runs: sweeps never overlap.
var ErrSweepRunning = registry.Errorf(registry.ECONFLICT, "a sweep is already running")

// ErrStopped is returned once Stop has begun.
var ErrStopped = registry.Errorf(registry.EUNAVAILABLE, "the poller is stopping")

// SweepResult is what one sweep did.
type SweepResult struct {
	Due       int // canisters due at the start
	Refreshed int // read and stored
	Failed    int // a read failed: backed off
	Skipped   int // already being refreshed, deleted meanwhile, or the sweep was stopped
	Changed   int // refreshed canisters with at least one changed value
	Duration  time.Duration
}

// Sweep refreshes every due canister now, as fast as the pool and the rate limit allow (no
// spreading: the schedule spreads, a request for a sweep means now). It returns
// ErrSweepRunning while another sweep runs. It ends early when ctx ends or at Stop.
func (p *Poller) Sweep(ctx context.Context) (SweepResult, error) {
	return p.sweep(ctx, triggerRequest)
}

func (p *Poller) sweep(ctx context.Context, trigger string) (SweepResult, error) {
	if !p.begin() {
		return SweepResult{}, ErrStopped
	}
	defer p.wg.Done()
	if !p.sweeping.TryLock() {
		return SweepResult{}, ErrSweepRunning
	}
	defer p.sweeping.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(p.ctx, cancel)()

	began := time.Now()
	start := p.now()
	var spread time.Duration
	if trigger == triggerSchedule {
		spread = max(p.cfg.Spread, 0)
	}
	// The due canisters are leased to this poller for the whole sweep (its spread, then the
	// last refresh's timeout, twice over): another poller on the database takes only the rest.
	lease := 2 * (spread + p.cfg.Timeout)
	due, err := p.store.LeaseDueCanisters(ctx, start, p.cfg.Instance, lease, 0)
	if err != nil {
		return SweepResult{}, fmt.Errorf("sweep: %w", err)
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := p.store.ReleaseLeases(rctx, p.cfg.Instance); err != nil {
			p.logger.Warn("release refresh leases; they expire by themselves", "err", err, "lease", lease.String())
		}
	}()
	ledgers, err := p.store.TrackedLedgers(ctx)
	if err != nil {
		return SweepResult{}, fmt.Errorf("sweep: %w", err)
	}
	p.metrics.due.Set(float64(len(due)))
	pruned, pruneErr := p.prune(ctx, start)
	t := p.runSweep(ctx, due, ledgers, began, spread)
	res := t.result(len(due))
	res.Duration = time.Since(began)
	p.metrics.sweepDuration.WithLabelValues(trigger).Observe(res.Duration.Seconds())
	p.metrics.observeSweep(res)
	p.logSweep(trigger, res, t, pruned, pruneErr)
	return res, nil
}

// prune deletes miner_stats and wallet balance points beyond the retention, at most once per
// pruneEvery, and returns how many rows it deleted.
func (p *Poller) prune(ctx context.Context, now time.Time) (int64, error) {
	p.mu.Lock()
	if p.cfg.StatsRetention <= 0 || now.Sub(p.lastPrune) < pruneEvery {
		p.mu.Unlock()
		return 0, nil
	}
	p.lastPrune = now
	p.mu.Unlock()
	n, err := p.store.PruneMinerStats(ctx, now.Add(-p.cfg.StatsRetention))
	if err != nil {
		return n, err
	}
	m, err := p.store.PruneBalanceHistory(ctx, now.Add(-p.cfg.StatsRetention))
	return n + m, err
}

// runSweep refreshes due through Concurrency workers. With spread > 0 canister i is handed
// to a worker no earlier than began + Offset(i, spread); when every worker is busy, hand-out
// waits for one, so a large registry degrades to "as fast as the pool allows". began is read
// from the real clock, not Config.Now: spreading paces real calls.
func (p *Poller) runSweep(ctx context.Context, due []registry.Canister, ledgers []registry.CanisterID, began time.Time, spread time.Duration) *tally {
	t := &tally{errs: map[string]int{}}
	if spread > 0 {
		due = slices.Clone(due)
		slices.SortStableFunc(due, func(a, b registry.Canister) int {
			return cmp.Compare(Offset(a.ID, spread), Offset(b.ID, spread))
		})
	}
	work := make(chan registry.Canister)
	var wg sync.WaitGroup
	for range min(p.cfg.Concurrency, len(due)) {
		wg.Go(func() {
			for c := range work {
				t.add(p.refreshSwept(ctx, c, ledgers))
			}
		})
	}
	for i, c := range due {
		if !waitUntil(ctx, began.Add(Offset(c.ID, spread))) {
			p.skipRest(t, due[i:])
			break
		}
		select {
		case work <- c:
			continue
		case <-ctx.Done():
		}
		p.skipRest(t, due[i:])
		break
	}
	close(work)
	wg.Wait()
	return t
}

// skipRest counts the canisters a stopped sweep never handed out.
func (p *Poller) skipRest(t *tally, rest []registry.Canister) {
	t.skip(len(rest))
	for _, c := range rest {
		p.metrics.skipped.WithLabelValues(string(c.Kind)).Inc()
	}
}

// waitUntil waits until the real clock reaches at; it reports false if ctx ended first.
func waitUntil(ctx context.Context, at time.Time) bool {
	d := time.Until(at)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// tally aggregates the outcomes of a sweep so that failures are logged once per sweep, not
// once per canister.
type tally struct {
	mu                                  sync.Mutex
	refreshed, failed, skipped, changed int
	errs                                map[string]int // failures by error code
	sample                              error          // one failure, for the log
	partial, publishFailed              int            // wallets with some ledgers unread; events not published
	partialSample, publishSample        error
}

func (t *tally) add(r result) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch r.outcome {
	case outcomeRefreshed:
		t.refreshed++
	case outcomeFailed:
		t.failed++
		t.errs[registry.ErrorCode(r.err)]++
		t.sample = cmp.Or(t.sample, r.err)
	case outcomeSkipped:
		t.skipped++
	}
	if r.changed {
		t.changed++
	}
	if r.partialErr != nil {
		t.partial++
		t.partialSample = cmp.Or(t.partialSample, r.partialErr)
	}
	if r.publishErr != nil {
		t.publishFailed++
		t.publishSample = cmp.Or(t.publishSample, r.publishErr)
	}
}

func (t *tally) skip(n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.skipped += n
}

func (t *tally) result(due int) SweepResult {
	t.mu.Lock()
	defer t.mu.Unlock()
	return SweepResult{Due: due, Refreshed: t.refreshed, Failed: t.failed, Skipped: t.skipped, Changed: t.changed}
}

func (p *Poller) logSweep(trigger string, res SweepResult, t *tally, pruned int64, pruneErr error) {
	p.logger.Info("sweep done", "trigger", trigger, "due", res.Due, "refreshed", res.Refreshed,
		"failed", res.Failed, "skipped", res.Skipped, "changed", res.Changed,
		"took", res.Duration.Round(time.Millisecond).String(), "miner_stats_pruned", pruned)
	if res.Duration > p.period {
		p.logger.Warn("sweep took longer than the schedule's period; ticks are being skipped "+
			"(raise REFRESH_CONCURRENCY or REFRESH_RATE, or lengthen REFRESH_SCHEDULE)",
			"took", res.Duration.Round(time.Second).String(), "period", p.period.String(), "due", res.Due)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.failed > 0 {
		p.logger.Warn("canister refreshes failed; backed off", "failed", t.failed, "by_code", t.errs, "example", t.sample)
	}
	if t.partial > 0 {
		p.logger.Warn("wallet balances partly unread; last values kept", "wallets", t.partial, "example", t.partialSample)
	}
	if t.publishFailed > 0 {
		p.logger.Warn("events not published", "canisters", t.publishFailed, "example", t.publishSample)
	}
	if pruneErr != nil {
		p.logger.Error("prune miner stats", "err", pruneErr)
	}
}
