package notify

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"canistry/pkg/registry"
	"canistry/pkg/store"
)

// MiningFollower keeps the mining analytics (issue 27) up to date in the notifier: it runs
// store.SyncMining, which reads stored solution_found outcalls and miner refreshes from its
// own stored positions, when woken (a new event: the intake's publish, the bus doorbell) and
// on its own poll, at most once per miningGap after a sync that wrote, so that under a stream
// of outcalls it applies them in batches: each sync is one write
// transaction, and its cost (pages written at commit) hardly depends on the batch's size. Before the hub delivers a solution_found event it waits
// until a sync has applied it (SyncBefore), so that a page refreshing on that event reads a
// summary that already counts it. It is never part of the intake's claim transaction.
type MiningFollower struct {
	store  *store.Store
	poll   time.Duration
	logger *slog.Logger

	mu      sync.Mutex   // one SyncMining at a time in this process
	applied atomic.Int64 // solution_found outcalls up to this notification id are applied
	idle    atomic.Bool  // the run loop waits for a wake with its pause over: a wake syncs at once

	smu    sync.Mutex
	synced chan struct{} // closed (and replaced) when a sync ends

	wake chan struct{}
	stop context.CancelFunc
	done chan struct{}
}

// miningGap is the least time from the end of a sync that wrote (or failed) to the next sync of
// the run loop: under a stream of outcalls the next wake is pending when a sync ends, so the
// syncs come a gap apart and each applies what arrived meanwhile.
const miningGap = 250 * time.Millisecond

// idleGap is the least time after a sync that found nothing to apply (a read, no write): a
// solution after a quiet spell is counted, and its event delivered, at once instead of a
// miningGap later, and a stream of other events still makes at most one read per idleGap.
const idleGap = 25 * time.Millisecond

// syncWait bounds how long SyncBefore holds a delivery back.
const syncWait = 2 * time.Second

// NewMiningFollower starts a follower that polls every poll (zero: 1s).
func NewMiningFollower(s *store.Store, poll time.Duration, logger *slog.Logger) *MiningFollower {
	if poll <= 0 {
		poll = time.Second
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &MiningFollower{store: s, poll: poll, logger: logger, synced: make(chan struct{}), wake: make(chan struct{}, 1),
		stop: cancel, done: make(chan struct{})}
	go f.run(ctx)
	return f
}

// Wake asks for a sync soon; it never blocks.
func (f *MiningFollower) Wake() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// syncAll applies everything stored so far (the run loop's sync) and says whether it found
// anything to apply.
func (f *MiningFollower) syncAll(ctx context.Context) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	defer f.broadcast()
	wrote := false
	for {
		r, err := f.store.SyncMining(ctx)
		if err != nil {
			return wrote, err
		}
		wrote = wrote || r.Solutions+r.Skipped+r.HashRates > 0
		if r.Position > f.applied.Load() {
			f.applied.Store(r.Position)
		}
		if !r.More {
			return wrote, nil
		}
	}
}

func (f *MiningFollower) broadcast() {
	f.smu.Lock()
	close(f.synced)
	f.synced = make(chan struct{})
	f.smu.Unlock()
}

func (f *MiningFollower) nextSync() <-chan struct{} {
	f.smu.Lock()
	defer f.smu.Unlock()
	return f.synced
}

// SyncBefore wraps deliver (the hub's): a batch holding a solution_found event is delivered
// once a sync of the run loop has applied it (for at most syncWait, then anyway: the poll
// catches up). Deliveries in a stream share the run loop's syncs instead of each writing one.
func (f *MiningFollower) SyncBefore(deliver func([]registry.Event)) func([]registry.Event) {
	return func(evs []registry.Event) {
		var target int64
		for _, e := range evs {
			if e.Event == registry.EventSolutionFound {
				target = max(target, e.NotificationID)
			}
		}
		if target > 0 && !f.await(target) {
			f.logger.Warn("mining analytics: a solution_found event is delivered before it was counted; the poll retries",
				"notification_id", target)
		}
		deliver(evs)
	}
}

// await waits until the solutions up to notification id target are applied.
func (f *MiningFollower) await(target int64) bool {
	deadline := time.NewTimer(syncWait)
	defer deadline.Stop()
	for {
		next := f.nextSync()
		if f.applied.Load() >= target {
			return true
		}
		f.Wake()
		select {
		case <-next:
		case <-deadline.C:
			return false
		case <-f.done:
			return f.applied.Load() >= target
		}
	}
}

func (f *MiningFollower) run(ctx context.Context) {
	defer close(f.done)
	t := time.NewTicker(f.poll)
	defer t.Stop()
	failing := false
	for {
		wrote, err := f.syncAll(ctx)
		gap := idleGap
		if wrote || err != nil {
			gap = miningGap
		}
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			f.logger.Error("mining analytics: sync failed; will retry", "err", err)
			failing = true
		case err == nil && failing:
			f.logger.Info("mining analytics: synced again")
			failing = false
		}
		// The pause counts from the sync's end; a wake that comes during it stays pending.
		pause := time.NewTimer(gap)
		select {
		case <-ctx.Done():
			pause.Stop()
			return
		case <-pause.C:
		}
		f.idle.Store(true)
		select {
		case <-ctx.Done():
			return
		case <-f.wake:
		case <-t.C:
		}
		f.idle.Store(false)
	}
}

// Close stops the follower and waits for it, at most until ctx ends.
func (f *MiningFollower) Close(ctx context.Context) error {
	f.stop()
	select {
	case <-f.done:
		return nil
	case <-ctx.Done():
		return errors.New("mining follower still syncing at the shutdown deadline")
	}
}
