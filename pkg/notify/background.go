package notify

import (
	"context"
	"fmt"
	"time"
)

// sweepEvery is how often expired cache entries, idle limiters and expired claims are removed.
const sweepEvery = time.Minute

// background writes batched copy counts every flush interval and sweeps every sweepEvery,
// until ctx ends.
func (in *Intake) background(ctx context.Context, flushEvery time.Duration) {
	defer close(in.done)
	flush := time.NewTicker(flushEvery)
	defer flush.Stop()
	sweep := time.NewTicker(sweepEvery)
	defer sweep.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-flush.C:
			err := in.Flush(ctx)
			switch {
			case err != nil && ctx.Err() == nil && !failing:
				in.logger.Error("write copy counts; will retry", "err", err)
				failing = true
			case err == nil && failing:
				in.logger.Info("copy counts written again")
				failing = false
			}
		case <-sweep.C:
			in.Sweep(ctx)
		}
	}
}

// Sweep drops expired cache entries, idle limiters and expired dedup claims, and deletes
// notifications older than the retention. The background loop calls it every minute.
func (in *Intake) Sweep(ctx context.Context) {
	now := in.now()
	in.observeCopies(ctx, in.cache.sweep(now))
	in.limits.prune(now)
	if _, err := in.store.DeleteExpiredClaims(ctx, now); err != nil && ctx.Err() == nil {
		in.logger.Warn("delete expired dedup claims; will retry", "err", err)
	}
	in.pruneLog(ctx, now)
}

// observeCopies adds the notifications ended (their dedup window is over) to the copy
// histograms: how many copies each outcall had, and over how long they arrived. Each is
// observed once, by the notifier that claimed it; one copy (a non-replicated outcall) is a
// normal observation like any other.
func (in *Intake) observeCopies(ctx context.Context, ended []int64) {
	for len(ended) > 0 {
		n := min(len(ended), pruneBatch)
		stats, err := in.store.CopyStats(ctx, ended[:n])
		if err != nil {
			if ctx.Err() == nil {
				in.logger.Warn("read copy stats for the copy histograms; they skip these", "err", err)
			}
			return
		}
		for _, s := range stats {
			in.m.copiesPerOutcall.Observe(float64(s.Copies))
			in.m.spread.Observe(s.Spread.Seconds())
		}
		ended = ended[n:]
	}
}

// pruneBatch bounds one delete, so that pruning never holds the write lock for long.
const pruneBatch = 1000

// pruneLog deletes notifications and logged events older than the retention, a batch at a
// time, at most a few batches per sweep (a backlog is worked off over the following minutes).
func (in *Intake) pruneLog(ctx context.Context, now time.Time) {
	if in.keep <= 0 {
		return
	}
	in.pruneBatches(ctx, "old notifications", func() (int64, error) { return in.store.PruneNotifications(ctx, now, in.keep, pruneBatch) })
	in.pruneBatches(ctx, "old events from the event log", func() (int64, error) { return in.store.PruneEvents(ctx, now, in.keep, pruneBatch) })
}

// pruneBatches runs prune up to ten times while it deletes whole batches, and logs the total.
func (in *Intake) pruneBatches(ctx context.Context, what string, prune func() (int64, error)) {
	var total int64
	for range 10 {
		n, err := prune()
		if err != nil {
			if ctx.Err() == nil {
				in.logger.Warn("prune "+what+"; will retry", "err", err)
			}
			return
		}
		total += n
		if n < pruneBatch {
			break
		}
	}
	if total > 0 {
		in.logger.Info("pruned "+what, "deleted", total, "retention", in.keep.String())
	}
}

// Flush writes the copy counts (and copy records) answered from memory so far: when it returns
// nil, every copy answered before the call is written, even one a concurrent flush had taken.
// On failure they are kept for the next flush.
func (in *Intake) Flush(ctx context.Context) error {
	in.flushMu.Lock()
	defer in.flushMu.Unlock()
	batch := in.copies.take()
	if err := in.store.AddNotificationCopies(ctx, batch); err != nil {
		for _, c := range batch {
			in.copies.add(c)
		}
		return fmt.Errorf("flush copy counts: %w", err)
	}
	return nil
}

// Close stops the background work and writes the last copy counts. Call it after the HTTP
// server has stopped taking requests.
func (in *Intake) Close(ctx context.Context) error {
	var err error
	in.closeOnce.Do(func() {
		in.stop()
		<-in.done
		<-in.claimsDone
		err = in.Flush(ctx)
	})
	return err
}
