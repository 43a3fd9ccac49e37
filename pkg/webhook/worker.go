// Package webhook delivers the event log to webhook endpoints: each endpoint gets the logged
// events its filter passes, signed as the Standard Webhooks specification says, strictly in id
// order and one at a time, from a cursor kept in the database. A failed attempt is retried
// with exponential backoff and jitter; when the retry budget of an event runs out, the
// endpoint is marked failing and nothing more is sent to it until it is enabled again.
//
// Durability. The cursor moves only after a 2xx reply, in the same transaction that logs the
// attempt, so a restart, a crash or a bus outage loses no event; an event whose reply was lost
// in a crash is sent again with the same webhook-id (receivers deduplicate on it).
//
// Several workers. Each notifier runs a Worker on the shared database. Only the holder of an
// endpoint's lease (a row field with an expiry, renewed while it delivers) sends to it, and
// every write of the delivery state is fenced by that lease, so two notifiers never deliver
// to one endpoint at once; when a holder dies its lease expires and another worker takes over.
package webhook

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"canistry/pkg/store"
)

// Config configures New. Zero values mean the defaults in brackets.
type Config struct {
	Store *store.Store
	// Owner names this worker in the leases it takes; unique per process (host:pid:random).
	Owner string
	// LocalDev allows non-public addresses (loopback and private) as delivery targets.
	LocalDev bool
	// Timeout bounds each attempt: connect, TLS handshake, reply headers, and in total [10s].
	Timeout time.Duration
	// RetryBase is the wait before the first retry; each next wait doubles, ±25 % jitter [5s].
	RetryBase time.Duration
	// Retries is how many times an event is retried after its first attempt before the endpoint
	// is marked failing [14: 5s·(2¹⁴−1) ≈ 22.8 h in all with the default base].
	Retries int
	// Lease is how long an endpoint's lease lasts unless renewed (every Lease/3) [30s].
	Lease time.Duration
	// Poll is how often endpoints and the log are re-read when no doorbell rings [1s].
	Poll time.Duration
	// HoldBack is how long a missing event id is waited for (eventlog.Config.HoldBack) [2s].
	HoldBack time.Duration
	// Client sends the deliveries [NewClient(LocalDev, Timeout)].
	Client *http.Client
	Logger *slog.Logger
	Now    func() time.Time
}

func (c *Config) defaults() {
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.RetryBase <= 0 {
		c.RetryBase = 5 * time.Second
	}
	if c.Retries <= 0 {
		c.Retries = 14
	}
	if c.Lease <= 0 {
		c.Lease = 30 * time.Second
	}
	if c.Poll <= 0 {
		c.Poll = time.Second
	}
	if c.Client == nil {
		c.Client = NewClient(c.LocalDev, c.Timeout)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Stats are the worker's counters.
type Stats struct {
	Endpoints int   // endpoints this worker holds the lease of
	Delivered int64 // events delivered (2xx)
	Failed    int64 // failed attempts
	Failing   int64 // endpoints this worker marked failing
}

// Worker runs one delivery loop per endpoint whose lease it holds. Start it with New, stop it
// with Close.
type Worker struct {
	cfg  Config
	wake chan struct{}
	stop context.CancelFunc
	done chan struct{}
	once sync.Once

	mu      sync.Mutex
	running map[int64]*endpoint // endpoints with a live loop in this worker
	loops   sync.WaitGroup

	delivered, failed, failing atomic.Int64
}

// New starts a worker.
func New(cfg Config) (*Worker, error) {
	if cfg.Store == nil || cfg.Owner == "" {
		return nil, errors.New("webhook: Store and Owner are required")
	}
	cfg.defaults()
	ctx, cancel := context.WithCancel(context.Background())
	w := &Worker{cfg: cfg, wake: make(chan struct{}, 1), stop: cancel, done: make(chan struct{}),
		running: map[int64]*endpoint{}}
	go w.run(ctx)
	return w, nil
}

// Wake says the log advanced (or endpoints changed): endpoints are looked at and read now. It
// never blocks.
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, ep := range w.running {
		ep.wake()
	}
}

// Stats returns the counters.
func (w *Worker) Stats() Stats {
	w.mu.Lock()
	n := len(w.running)
	w.mu.Unlock()
	return Stats{Endpoints: n, Delivered: w.delivered.Load(), Failed: w.failed.Load(), Failing: w.failing.Load()}
}

// Close stops every delivery loop (an attempt in flight finishes, within Timeout, and is
// recorded), releases the leases so another worker can take over at once, and waits, at most
// until ctx ends.
func (w *Worker) Close(ctx context.Context) error {
	w.once.Do(w.stop)
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		return errors.New("webhook worker still delivering at the shutdown deadline")
	}
}

// run starts a loop for every endpoint that is active and not leased by another worker, at
// every poll and doorbell.
func (w *Worker) run(ctx context.Context) {
	defer close(w.done)
	defer w.loops.Wait()
	poll := time.NewTicker(w.cfg.Poll)
	defer poll.Stop()
	for {
		w.scan(ctx)
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		case <-poll.C:
		}
	}
}

func (w *Worker) scan(ctx context.Context) {
	ids, err := w.cfg.Store.LeasableWebhooks(ctx, w.cfg.Owner)
	if err != nil {
		if ctx.Err() == nil {
			w.cfg.Logger.Warn("list webhooks; retrying at the next poll", "err", err)
		}
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, id := range ids {
		if _, ok := w.running[id]; ok || ctx.Err() != nil {
			continue
		}
		ep := newEndpoint(w, id)
		w.running[id] = ep
		w.loops.Add(1)
		go func() {
			defer w.loops.Done()
			ep.run(ctx)
			w.mu.Lock()
			delete(w.running, id)
			w.mu.Unlock()
		}()
	}
}

// OwnerName returns a lease owner name for this process: host, pid and a random suffix (a
// restarted process with a reused pid is another owner).
func OwnerName() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return host + ":" + strconv.Itoa(os.Getpid()) + ":" + hex.EncodeToString(b[:])
}
