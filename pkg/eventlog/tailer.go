// Package eventlog tails the event log: it reads logged events strictly in id order from the
// last one it delivered and hands them to a sink (the WebSocket hub). The database is the
// truth; the bus only rings the doorbell (Wake), and a fallback poll covers a silent or dead
// bus, so a bus outage delays events but never loses or reorders them.
//
// Late commits. With one writer at a time (SQLite) ids commit in order and the log has no
// holes. With several writers (PostgreSQL), a sequence value can commit after a higher one, or
// never (a rolled-back transaction). So when the next id is missing but a later one is
// visible, the tailer holds back: it delivers nothing past the hole and re-reads every
// HoldRetry until the hole fills or HoldBack has passed since it was first seen, and only
// then gives the id up as never committed (logged). An id that commits later than HoldBack is
// not delivered live (a client replaying with ?since= still reads it).
package eventlog

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"canistry/pkg/registry"
)

// Config configures New. Zero durations and sizes mean the defaults in brackets.
type Config struct {
	// Read returns up to limit logged events with id > after, in id order (store.Events).
	Read func(ctx context.Context, after int64, limit int) ([]registry.Event, error)
	// Deliver receives events in strictly increasing id order, each once. It must not block
	// for long (the hub only enqueues).
	Deliver func([]registry.Event)
	// From is the id delivered last: the tailer starts after it (usually the log's head).
	From int64

	Poll      time.Duration // fallback poll when no doorbell rings [1s]
	HoldBack  time.Duration // how long a missing id is waited for [2s]
	HoldRetry time.Duration // re-read interval while holding back [20ms]
	Page      int           // events per read [1000]
	Logger    *slog.Logger
	Now       func() time.Time
}

func (c *Config) defaults() {
	if c.Poll <= 0 {
		c.Poll = time.Second
	}
	if c.HoldBack <= 0 {
		c.HoldBack = 2 * time.Second
	}
	if c.HoldRetry <= 0 {
		c.HoldRetry = 20 * time.Millisecond
	}
	if c.Page <= 0 {
		c.Page = 1000
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Stats are the tailer's counters.
type Stats struct {
	Position  int64 // id delivered last
	Delivered int64 // events delivered
	Reads     int64 // reads of the log
	Skipped   int64 // ids given up as never committed
	Errors    int64 // failed reads (retried at the next wake or poll)
}

// Tailer follows the log. Start it with New; stop it with Close.
type Tailer struct {
	cfg  Config
	wake chan struct{}
	stop context.CancelFunc
	done chan struct{}
	once sync.Once

	pos       atomic.Int64
	delivered atomic.Int64
	reads     atomic.Int64
	skipped   atomic.Int64
	errs      atomic.Int64

	hole     int64     // the missing id being held back for (0: none)
	holeSeen time.Time // when it was first seen
}

// New starts a tailer after cfg.From.
func New(cfg Config) (*Tailer, error) {
	if cfg.Read == nil || cfg.Deliver == nil {
		return nil, errors.New("eventlog: Read and Deliver are required")
	}
	cfg.defaults()
	ctx, cancel := context.WithCancel(context.Background())
	t := &Tailer{cfg: cfg, wake: make(chan struct{}, 1), stop: cancel, done: make(chan struct{})}
	t.pos.Store(cfg.From)
	go t.run(ctx)
	return t, nil
}

// Wake asks the tailer to read the log now (a doorbell: the log advanced). It never blocks.
func (t *Tailer) Wake() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// Position is the id delivered last.
func (t *Tailer) Position() int64 { return t.pos.Load() }

// Stats returns the counters.
func (t *Tailer) Stats() Stats {
	return Stats{Position: t.pos.Load(), Delivered: t.delivered.Load(), Reads: t.reads.Load(),
		Skipped: t.skipped.Load(), Errors: t.errs.Load()}
}

// Close stops the tailer and waits for it, at most until ctx ends.
func (t *Tailer) Close(ctx context.Context) error {
	t.once.Do(t.stop)
	select {
	case <-t.done:
		return nil
	case <-ctx.Done():
		return errors.New("event log tailer still reading at the shutdown deadline")
	}
}

func (t *Tailer) run(ctx context.Context) {
	defer close(t.done)
	poll := time.NewTimer(t.cfg.Poll)
	defer poll.Stop()
	for {
		holding := t.catchUp(ctx)
		next := t.cfg.Poll
		if holding {
			next = t.cfg.HoldRetry
		}
		poll.Reset(next)
		select {
		case <-ctx.Done():
			return
		case <-t.wake:
		case <-poll.C:
		}
		if !poll.Stop() {
			select {
			case <-poll.C:
			default:
			}
		}
	}
}

// catchUp reads and delivers until the log has nothing more in order; it reports whether it
// stopped at a hole it is holding back for.
func (t *Tailer) catchUp(ctx context.Context) bool {
	for ctx.Err() == nil {
		pos := t.pos.Load()
		t.reads.Add(1)
		evs, err := t.cfg.Read(ctx, pos, t.cfg.Page)
		if err != nil {
			if ctx.Err() == nil {
				t.errs.Add(1)
				t.cfg.Logger.Warn("read the event log; retrying at the next wake or poll", "after", pos, "err", err)
			}
			return false
		}
		ready, holding := t.inOrder(pos, evs)
		if len(ready) > 0 {
			t.cfg.Deliver(ready)
			t.pos.Store(ready[len(ready)-1].ID)
			t.delivered.Add(int64(len(ready)))
		}
		if holding || len(evs) < t.cfg.Page {
			return holding
		}
	}
	return false
}

// inOrder returns the prefix of evs that may be delivered after pos, and whether it stopped
// at a hole that is still being waited for.
func (t *Tailer) inOrder(pos int64, evs []registry.Event) ([]registry.Event, bool) {
	evs = trimDelivered(evs, pos) // not expected from Read; never deliver twice
	for i, e := range evs {
		if e.ID == pos+1 {
			pos = e.ID
			continue
		}
		// ids pos+1 … e.ID-1 are missing while e.ID is visible.
		now := t.cfg.Now()
		if t.hole != pos+1 {
			t.hole, t.holeSeen = pos+1, now
		}
		if now.Sub(t.holeSeen) < t.cfg.HoldBack {
			return evs[:i], true
		}
		t.skipped.Add(e.ID - pos - 1)
		t.cfg.Logger.Warn("event log: ids never committed within the hold-back; delivering past them",
			"first", pos+1, "last", e.ID-1, "hold_back", t.cfg.HoldBack.String())
		t.hole = 0
		pos = e.ID
	}
	if t.hole != 0 && t.hole <= pos {
		t.hole = 0
	}
	return evs, false
}

// trimDelivered drops events at or before pos (defensive: Read returns id > pos).
func trimDelivered(evs []registry.Event, pos int64) []registry.Event {
	i := 0
	for i < len(evs) && evs[i].ID <= pos {
		i++
	}
	return evs[i:]
}
