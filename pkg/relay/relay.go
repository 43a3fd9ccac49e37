// Package relay is the outcall relay: METHOD /relay/<route>/<path…> on the notifier calls the
// route's upstream at most once per key within DEDUP_WINDOW, across replica copies, notifier
// processes, restarts and both database backends, and gives every copy the same bytes.
//
// The key is Idempotency-Key when the caller sends one, else the fingerprint of the request
// (method, path, query, forwarded headers, body), scoped by route and caller key. Its claim in
// the database (store.ClaimRelayCall) makes one copy the executor: it calls the upstream under
// a lease it renews and stores the reply, or the failure as a deterministic error reply
// (upstream.go). Copies in this process wait for it in memory; copies in another process poll
// the stored call until it is done, or until its lease expires: then a GET or HEAD is called
// again by the next copy, any other method gets the stored 502 upstream_outcome_unknown and is
// never re-run.
//
// Routes come from the file named by RELAY_ROUTES (routes.go); SIGHUP reloads it (Reload) and
// keeps the old routes when the new file is invalid.
package relay

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"canistry/pkg/config"
	"canistry/pkg/egress"
	"canistry/pkg/ratelimit"
	"canistry/pkg/registry"
	"canistry/pkg/store"
)

// Config configures New.
type Config struct {
	Store *store.Store
	// Path is the routes file (RELAY_ROUTES) and Getenv expands its ${VAR}s (and reads
	// LOCAL_DEV); both are read again by Reload.
	Path   string
	Getenv func(string) string
	// Window is how long a key is remembered (DEDUP_WINDOW).
	Window time.Duration
	// Lease is how long an executing process holds a running call without renewing it: how
	// long after a crash its GETs are re-run and its POSTs answered upstream_outcome_unknown.
	// 0 means 10 s.
	Lease    time.Duration
	LocalDev bool
	// RateLimit is the sustained rate of new calls per caller key and route, RateBurst its
	// burst; zero means 10 a second with a burst of 100.
	RateLimit      rate.Limit
	RateBurst      int
	TrustedProxies []netip.Prefix
	// Retention is how long relay calls are listed (NOTIFICATIONS_RETENTION); 0 forever.
	Retention time.Duration
	Logger    *slog.Logger
	Metrics   prometheus.Registerer
	Now       func() time.Time
	// Client, when set, builds the upstream client of a route (tests); nil means
	// egress.NewClient with the route's timeout and LocalDev.
	Client func(*Route) *http.Client
}

// Relay is the http.Handler of /relay/…; Close it to stop its background work.
type Relay struct {
	cfg    Config
	owner  string
	table  atomic.Pointer[table]
	reload sync.Mutex
	mem    *memory
	limits *ratelimit.Keyed
	m      *metrics
	stop   context.CancelFunc
	done   chan struct{}
}

// table is the routes in use with their upstream clients.
type table struct {
	routes  *Routes
	clients map[string]*http.Client
}

// New loads the routes file and returns a running relay.
func New(cfg Config) (*Relay, error) {
	if cfg.Store == nil || cfg.Logger == nil || cfg.Getenv == nil || cfg.Window <= 0 {
		return nil, errors.New("relay: Store, Logger, Getenv and a positive Window are required")
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 10 * time.Second
	}
	if cfg.RateLimit == 0 {
		cfg.RateLimit, cfg.RateBurst = 10, 100
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Client == nil {
		cfg.Client = func(r *Route) *http.Client {
			return egress.NewClient(egress.Options{LocalDev: cfg.LocalDev, Timeout: r.Timeout, IdlePerHost: 64})
		}
	}
	m, err := newMetrics(cfg.Metrics)
	if err != nil {
		return nil, err
	}
	rl := &Relay{cfg: cfg, owner: ownerName(), mem: newMemory(), limits: ratelimit.NewKeyed(cfg.RateLimit, cfg.RateBurst),
		m: m, done: make(chan struct{})}
	rl.cfg.Logger = cfg.Logger.With("component", "relay")
	if err := rl.Reload(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	rl.stop = cancel
	go rl.background(ctx)
	return rl, nil
}

// ownerName names this process in the leases it holds: host, pid and a random part.
func ownerName() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return host + ":" + strconv.Itoa(os.Getpid()) + ":" + hex.EncodeToString(b)
}

// Reload reads the routes file again. When it is invalid, the routes in use stay and the error
// (naming route and field, never a secret) is returned and logged.
func (rl *Relay) Reload() error {
	rl.reload.Lock()
	defer rl.reload.Unlock()
	rs, err := LoadRoutes(rl.cfg.Path, rl.cfg.Getenv)
	if err != nil {
		if rl.table.Load() != nil {
			rl.cfg.Logger.Error("relay routes not reloaded; the previous routes stay", "err", err)
		}
		return err
	}
	t := &table{routes: rs, clients: map[string]*http.Client{}}
	for _, r := range rs.List {
		t.clients[r.Name] = rl.cfg.Client(r)
	}
	old := rl.table.Swap(t)
	if old != nil {
		for _, c := range old.clients {
			c.CloseIdleConnections()
		}
	}
	rl.cfg.Logger.Info("relay routes loaded", "routes", len(rs.List), "file", rl.cfg.Path)
	return nil
}

// Routes returns the routes in use.
func (rl *Relay) Routes() *Routes { return rl.table.Load().routes }

// Close stops the background work and writes the last copy counts.
func (rl *Relay) Close(ctx context.Context) error {
	rl.stop()
	select {
	case <-rl.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	return rl.flush(ctx)
}

// background writes the copy counts answered from memory every 200 ms, and once a minute
// forgets ended keys and prunes the store.
func (rl *Relay) background(ctx context.Context) {
	defer close(rl.done)
	flush := time.NewTicker(200 * time.Millisecond)
	defer flush.Stop()
	sweep := time.NewTicker(time.Minute)
	defer sweep.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-flush.C:
			if err := rl.flush(ctx); err != nil && ctx.Err() == nil {
				rl.cfg.Logger.Warn("write relay copy counts", "err", err)
			}
		case <-sweep.C:
			rl.sweep(ctx)
		}
	}
}

func (rl *Relay) flush(ctx context.Context) error {
	batch := rl.mem.takePending()
	for _, c := range batch {
		rl.m.perCall.Observe(float64(c.Copies))
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return rl.cfg.Store.AddRelayCopies(ctx, batch)
}

func (rl *Relay) sweep(ctx context.Context) {
	now := rl.cfg.Now()
	rl.mem.sweep(now)
	rl.limits.Prune(now)
	keep := rl.cfg.Retention
	if keep <= 0 {
		keep = 100 * 365 * 24 * time.Hour
	}
	keep = max(keep, rl.cfg.Window)
	if _, err := rl.cfg.Store.PruneRelay(ctx, now, keep, 1000); err != nil && ctx.Err() == nil {
		rl.cfg.Logger.Warn("prune relay calls", "err", err)
	}
}

// refusalHold is how long a rate-limited key's 429 stands for all its copies (as the intake's).
const refusalHold = config.OutcallWindow

// errorf is a rejection's error.
func errorf(code, format string, args ...any) error { return registry.Errorf(code, format, args...) }

// describe is a call's identity for logs: never a header value or the body.
func (c *call) describe() []any {
	return []any{"route", c.route.Name, "method", c.method, "path", c.rest, "key_hash", c.keyHash[:16]}
}
