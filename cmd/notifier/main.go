// Command notifier takes canister outcalls at POST /miner-notifications (deduplicated, with
// byte-identical replies to every replica copy), stores them, and fans events out over
// WebSocket at /ws, with a live page at /test. With RELAY_ROUTES it also relays canisters'
// outcalls to HTTPS APIs at /relay/<route>/… (pkg/relay), once per key; SIGHUP reloads the
// routes file.
//
// Events flow one way: every writer (this intake, the api, the poller) appends its event to the
// event log in the transaction of the change, then publishes it on the bus
// (canistry.events.<event>). The WebSocket hub is fed only by a tailer of the log, in id order;
// a bus message (or the local intake) only wakes the tailer, and EVENT_LOG_POLL covers a silent
// bus. So each event reaches each client exactly once and in order, on every notifier behind
// a load balancer, and a bus outage delays events without losing any.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"

	"canistry/pkg/bus"
	"canistry/pkg/eventlog"
	"canistry/pkg/httpserver"
	"canistry/pkg/lifecycle"
	"canistry/pkg/notify"
	"canistry/pkg/ratelimit"
	"canistry/pkg/registry"
	"canistry/pkg/relay"
	"canistry/pkg/webhook"
	"canistry/pkg/ws"
)

func main() { os.Exit(lifecycle.Main("notifier", run)) }

// checkRelayRoutes is check-config's validation of RELAY_ROUTES: the relay's own loader.
func checkRelayRoutes(path string, getenv func(string) string) error {
	_, err := relay.LoadRoutes(path, getenv)
	return err
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, opts lifecycle.Options) error {
	if opts.CheckRelayRoutes == nil {
		opts.CheckRelayRoutes = checkRelayRoutes
	}
	b, err := lifecycle.Start(ctx, "notifier", args, getenv, stdout, opts)
	if b == nil || err != nil { // nil Base: --version, --help or check-config answered
		return err
	}
	defer b.Close()
	cfg := b.Config
	ln, err := b.Listen(ctx, cfg.NotifierAddr, cfg.IPv6Only)
	if err != nil {
		return err
	}
	metrics, err := b.NewMetricsRegistry()
	if err != nil {
		return err
	}
	deps, err := wire(b, metrics)
	if err != nil {
		return err
	}
	handler, err := notify.NewHandler(deps)
	if err != nil {
		return err
	}
	tlsConfig, err := b.TLS()
	if err != nil {
		return err
	}
	b.StartHeartbeat(ln.Addr().String())
	done := serve(b, ln, handler, tlsConfig)
	b.Serving(ln.Addr(), "tls", tlsConfig != nil, "plain_from_loopback", tlsConfig != nil,
		"nats", b.ShownNATSURL(), "database", b.Store.Path(), "local_dev", cfg.LocalDev)
	return b.Wait(ctx, done)
}

// serve serves handler on ln and returns the channel of a fatal serve error. Without TLS that
// is one plain server. With USE_HTTPS the port speaks TLS to everyone and, to loopback peers,
// plain HTTP as well (httpserver.SplitLoopbackPlain): the api on the same host terminates the
// public TLS and proxies to the default NOTIFIER_URL, http://[::1]:8081, whatever name its
// certificate is for.
func serve(b *lifecycle.Base, ln net.Listener, handler http.Handler, tlsConfig *tls.Config) <-chan error {
	if tlsConfig == nil {
		return b.Serve(ln, handler, nil).Done()
	}
	tlsSide, plainSide := httpserver.SplitLoopbackPlain(ln)
	tlsSrv := httpserver.Serve(tlsSide, handler, tlsConfig, b.Logger)
	plainSrv := httpserver.Serve(plainSide, handler, nil, b.Logger)
	b.Stack.Push("http server", func(ctx context.Context) error {
		errs := make(chan error, 1)
		go func() { errs <- plainSrv.Shutdown(ctx) }()
		return errors.Join(tlsSrv.Shutdown(ctx), <-errs)
	})
	done := make(chan error, 1)
	go func() {
		select {
		case err := <-tlsSrv.Done():
			done <- err
		case err := <-plainSrv.Done():
			done <- err
		}
	}()
	return done
}

// wire builds the webhook worker, the hub (fed by the event log's tailer, wireHub), the intake
// and the doorbell that wakes the tailers, pushing each one's shutdown as soon as it exists, so
// that an error later leaves nothing running (run's deferred Close undoes them). They stop after
// the HTTP server, in reverse: doorbell subscription, intake (last copy counts), tailer, hub
// (clients get 1001), webhook worker (leases released), then the bus and the store of Base.
func wire(b *lifecycle.Base, metrics *prometheus.Registry) (notify.HTTPDeps, error) {
	cfg := b.Config
	hooks, err := webhook.New(webhook.Config{Store: b.Store, Owner: webhook.OwnerName(), LocalDev: cfg.LocalDev, Timeout: cfg.WebhookTimeout,
		RetryBase: cfg.WebhookRetryBase, Retries: cfg.WebhookRetries, Poll: cfg.EventLogPoll, HoldBack: cfg.EventLogHoldBack, Logger: b.Logger})
	if err != nil {
		return notify.HTTPDeps{}, err
	}
	b.Stack.Push("webhook worker", hooks.Close)
	mining := notify.NewMiningFollower(b.Store, cfg.EventLogPoll, b.Logger)
	b.Stack.Push("mining follower", mining.Close)
	hub, tail, err := wireHub(b, mining)
	if err != nil {
		return notify.HTTPDeps{}, err
	}
	intake, err := notify.New(notify.Config{Store: b.Store, Keys: cfg.NotifyAPIKeys, Window: cfg.DedupWindow, Retention: cfg.NotificationsRetention,
		Publish: func(e registry.Event) error { tail.Wake(); hooks.Wake(); mining.Wake(); return b.Bus.PublishEvent(e) }, Refresh: b.Bus.RequestRefresh,
		Logger: b.Logger, Metrics: metrics, TrustedProxies: cfg.TrustedProxies,
		Limits: notify.LimitsOf(cfg.NotifyRatePerKey, cfg.NotifyBurstPerKey, cfg.NotifyRatePerMiner, cfg.NotifyBurstPerMiner)})
	if err != nil {
		return notify.HTTPDeps{}, err
	}
	b.Stack.Push("intake", intake.Close)
	if len(cfg.NotifyAPIKeys) == 0 {
		b.Logger.Warn("NOTIFY_API_KEYS is not set: every outcall is answered 401 until it is")
	}
	// Any event on the bus means the log advanced: ring the tailer's doorbell.
	sub, err := bus.Subscribe(b.Bus, bus.SubjectEventsAll, "", func(string, registry.Event) { tail.Wake(); hooks.Wake(); mining.Wake() })
	if err != nil {
		return notify.HTTPDeps{}, err
	}
	b.Stack.Push("events doorbell", func(context.Context) error { return sub.Unsubscribe() })
	if err := errors.Join(hooks.RegisterMetrics(metrics), tail.RegisterMetrics(metrics),
		eventlog.RegisterHeadMetric(metrics, b.Store.EventLogBounds), hub.RegisterMetrics(metrics)); err != nil {
		return notify.HTTPDeps{}, err
	}
	key := ""
	if len(cfg.NotifyAPIKeys) > 0 {
		key = cfg.NotifyAPIKeys[0]
	}
	deps := notify.HTTPDeps{Store: b.Store, Logger: b.Logger, Probes: httpserver.Probes{Ready: b.Ready, Metrics: metrics, Database: b.Store.Backend()},
		Intake: intake, WS: hub, WSStatus: hub.Status, LocalDev: cfg.LocalDev, SimulateKey: key}
	if cfg.RelayRoutes != "" {
		rl, err := wireRelay(b, metrics)
		if err != nil {
			return notify.HTTPDeps{}, err
		}
		deps.Relay = rl
	}
	return deps, nil
}

// wireRelay builds the outcall relay from RELAY_ROUTES (an invalid file stops the notifier at
// start) and reloads the file on SIGHUP, keeping the routes in use when the new file is invalid.
func wireRelay(b *lifecycle.Base, metrics *prometheus.Registry) (*relay.Relay, error) {
	cfg := b.Config
	rl, err := relay.New(relay.Config{Store: b.Store, Path: cfg.RelayRoutes, Getenv: b.Getenv, Window: cfg.DedupWindow,
		Lease: cfg.RelayLease, LocalDev: cfg.LocalDev, TrustedProxies: cfg.TrustedProxies, Retention: cfg.NotificationsRetention,
		RateLimit: ratelimit.PerSecond(cfg.RelayRate), RateBurst: cfg.RelayBurst, Logger: b.Logger, Metrics: metrics})
	if err != nil {
		return nil, err
	}
	b.Stack.Push("relay", rl.Close)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-hup:
				_ = rl.Reload() // logged by Reload
			}
		}
	}()
	b.Stack.PushFunc("relay reload on SIGHUP", func() { signal.Stop(hup); close(stop) })
	return rl, nil
}

// wireHub builds the WebSocket hub and the tailer of the event log that feeds it, from the
// log's head, and pushes their shutdown. A solution_found event reaches the hub after the
// mining follower has counted it (MiningFollower.SyncBefore).
func wireHub(b *lifecycle.Base, mining *notify.MiningFollower) (*ws.Hub, *eventlog.Tailer, error) {
	cfg := b.Config
	bounds, err := b.Store.EventLogBounds(context.Background())
	if err != nil {
		return nil, nil, err
	}
	hub := ws.NewHub(ws.Config{Replay: b.Store.Events, Bounds: b.Store.EventLogBounds, Start: bounds.Head,
		AllowedOrigins: cfg.WSAllowedOrigins, TrustedProxies: cfg.TrustedProxies, Logger: b.Logger})
	b.Stack.Push("websocket hub", hub.Close)
	tail, err := eventlog.New(eventlog.Config{
		Read: func(ctx context.Context, after int64, limit int) ([]registry.Event, error) {
			return b.Store.Events(ctx, after, 0, limit)
		},
		Deliver: mining.SyncBefore(hub.Deliver), From: bounds.Head, Poll: cfg.EventLogPoll, HoldBack: cfg.EventLogHoldBack, Logger: b.Logger})
	if err != nil {
		return nil, nil, err
	}
	b.Stack.Push("event log tailer", tail.Close)
	return hub, tail, nil
}
