package notify

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"canistry/pkg/registry"
	"canistry/pkg/store"
)

// MiningFollower keeps the mining analytics (issue 27) up to date in the notifier: it runs
// store.SyncMining, which reads stored solution_found outcalls and miner refreshes from its
// own stored positions, when woken (a new event: the intake's publish, the bus doorbell), on
// its own poll, and synchronously before the hub delivers a solution_found event (SyncBefore),
// so that a page refreshing on that event reads a summary that already counts it. It is
// never part of the intake's claim transaction.
type MiningFollower struct {
	store  *store.Store
	poll   time.Duration
	logger *slog.Logger

	mu   sync.Mutex // one SyncMining at a time in this process
	wake chan struct{}
	stop context.CancelFunc
	done chan struct{}
}

// miningGap is the least time between two syncs of the run loop, so that under a stream of
// outcalls (a wake at each one) the follower applies them in batches instead of one write
// transaction per outcall competing with the intake's.
const miningGap = 250 * time.Millisecond

// NewMiningFollower starts a follower that polls every poll (zero: 1s).
func NewMiningFollower(s *store.Store, poll time.Duration, logger *slog.Logger) *MiningFollower {
	if poll <= 0 {
		poll = time.Second
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &MiningFollower{store: s, poll: poll, logger: logger, wake: make(chan struct{}, 1), stop: cancel, done: make(chan struct{})}
	go f.run(ctx)
	return f
}

// Wake asks for a sync now; it never blocks.
func (f *MiningFollower) Wake() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// Sync applies everything stored so far.
func (f *MiningFollower) Sync(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for {
		r, err := f.store.SyncMining(ctx)
		if err != nil || !r.More {
			return err
		}
	}
}

// SyncBefore wraps deliver (the hub's): a batch holding a solution_found event is delivered
// after the follower has synced (for at most two seconds; on a failure it is delivered anyway
// and the poll catches up).
func (f *MiningFollower) SyncBefore(deliver func([]registry.Event)) func([]registry.Event) {
	return func(evs []registry.Event) {
		for _, e := range evs {
			if e.Event == registry.EventSolutionFound {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				if err := f.Sync(ctx); err != nil {
					f.logger.Warn("mining analytics: sync before delivery failed; the poll retries", "err", err)
				}
				cancel()
				break
			}
		}
		deliver(evs)
	}
}

func (f *MiningFollower) run(ctx context.Context) {
	defer close(f.done)
	t := time.NewTicker(f.poll)
	defer t.Stop()
	failing := false
	for {
		err := f.Sync(ctx)
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			f.logger.Error("mining analytics: sync failed; will retry", "err", err)
			failing = true
		case err == nil && failing:
			f.logger.Info("mining analytics: synced again")
			failing = false
		}
		select {
		case <-ctx.Done():
			return
		case <-f.wake:
		case <-t.C:
		}
		select { // at most one sync per miningGap
		case <-ctx.Done():
			return
		case <-time.After(miningGap):
		}
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
