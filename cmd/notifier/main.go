// Command notifier takes canister outcalls at POST /miner-notifications (deduplicated, with
// byte-identical replies to every replica copy), stores them, and fans events out over
// WebSocket at /ws, with a live page at /test.
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
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"

	"canistry/pkg/bus"
	"canistry/pkg/eventlog"
	"canistry/pkg/httpapi"
	"canistry/pkg/lifecycle"
	"canistry/pkg/notify"
	"canistry/pkg/registry"
	"canistry/pkg/webhook"
	"canistry/pkg/ws"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "canistry-notifier:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	b, err := lifecycle.Start(ctx, "notifier", args, getenv, stdout, lifecycle.Options{})
	if err != nil {
		return err
	}
	cfg := b.Config
	ln, err := lifecycle.Listen(ctx, cfg.NotifierAddr, cfg.IPv6Only)
	if err != nil {
		_ = b.Stack.Shutdown(cfg.ShutdownTimeout, b.Logger)
		return err
	}
	metrics := httpapi.NewMetricsRegistry()
	deps, err := wire(b, metrics)
	if err != nil {
		_ = ln.Close()
		_ = b.Stack.Shutdown(cfg.ShutdownTimeout, b.Logger)
		return err
	}
	handler, err := httpapi.NewNotifierHandler(deps)
	if err != nil {
		_ = ln.Close()
		_ = b.Stack.Shutdown(cfg.ShutdownTimeout, b.Logger)
		return err
	}
	tlsConfig, err := b.TLS()
	if err != nil {
		_ = ln.Close()
		_ = b.Stack.Shutdown(cfg.ShutdownTimeout, b.Logger)
		return err
	}
	b.StartHeartbeat(ln.Addr().String())
	done := serve(b, ln, handler, tlsConfig)
	b.Logger.Info("listening", "addr", ln.Addr().String(), "tls", tlsConfig != nil, "plain_from_loopback", tlsConfig != nil,
		"nats", b.NATSURL, "database", b.Store.Path(), "local_dev", cfg.LocalDev)
	return b.Wait(ctx, done)
}

// serve serves handler on ln and returns the channel of a fatal serve error. Without TLS that
// is one plain server. With USE_HTTPS the port speaks TLS to everyone and, to loopback peers,
// plain HTTP as well (lifecycle.SplitLoopbackPlain): the api on the same host terminates the
// public TLS and proxies to the default NOTIFIER_URL, http://[::1]:8081, whatever name its
// certificate is for.
func serve(b *lifecycle.Base, ln net.Listener, handler http.Handler, tlsConfig *tls.Config) <-chan error {
	if tlsConfig == nil {
		srv := lifecycle.Serve(ln, handler, nil, b.Logger)
		b.Stack.Push("http server", srv.Shutdown)
		return srv.Done()
	}
	tlsSide, plainSide := lifecycle.SplitLoopbackPlain(ln)
	tlsSrv := lifecycle.Serve(tlsSide, handler, tlsConfig, b.Logger)
	plainSrv := lifecycle.Serve(plainSide, handler, nil, b.Logger)
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

// wire builds the hub (fed by the event log's tailer), the webhook worker (its own tailers,
// rung by the same doorbell) and the intake, pushing their shutdown steps so that they stop
// after the HTTP server: hub (clients get 1001), tailer, doorbell subscription, intake (last
// copy counts), webhook worker (leases released), then the bus and the store of Base.
func wire(b *lifecycle.Base, metrics *prometheus.Registry) (httpapi.NotifierDeps, error) {
	cfg := b.Config
	bounds, err := b.Store.EventLogBounds(context.Background())
	if err != nil {
		return httpapi.NotifierDeps{}, err
	}
	hub := ws.NewHub(ws.Config{Replay: b.Store.Events, Bounds: b.Store.EventLogBounds, Start: bounds.Head,
		AllowedOrigins: cfg.WSAllowedOrigins, TrustedProxies: cfg.TrustedProxies, Logger: b.Logger})
	tail, err := eventlog.New(eventlog.Config{
		Read: func(ctx context.Context, after int64, limit int) ([]registry.Event, error) {
			return b.Store.Events(ctx, after, 0, limit)
		},
		Deliver: hub.Deliver, From: bounds.Head, Poll: cfg.EventLogPoll, HoldBack: cfg.EventLogHoldBack, Logger: b.Logger})
	if err != nil {
		return httpapi.NotifierDeps{}, err
	}

	hooks, err := webhook.New(webhook.Config{Store: b.Store, Owner: webhook.OwnerName(), LocalDev: cfg.LocalDev, Timeout: cfg.WebhookTimeout,
		RetryBase: cfg.WebhookRetryBase, Retries: cfg.WebhookRetries, Poll: cfg.EventLogPoll, HoldBack: cfg.EventLogHoldBack, Logger: b.Logger})
	if err != nil {
		_ = tail.Close(context.Background())
		return httpapi.NotifierDeps{}, err
	}
	b.Stack.Push("webhook worker", hooks.Close)
	if err := hooks.RegisterMetrics(metrics); err != nil {
		_ = tail.Close(context.Background())
		return httpapi.NotifierDeps{}, err
	}
	intake, err := notify.New(notify.Config{Store: b.Store, Keys: cfg.NotifyAPIKeys, Window: cfg.DedupWindow, Retention: cfg.NotificationsRetention,
		Publish: func(e registry.Event) error { tail.Wake(); hooks.Wake(); return b.Bus.PublishEvent(e) }, Refresh: b.Bus.RequestRefresh,
		Logger: b.Logger, Metrics: metrics})
	if err != nil {
		_ = tail.Close(context.Background())
		return httpapi.NotifierDeps{}, err
	}
	b.Stack.Push("intake", intake.Close)
	if len(cfg.NotifyAPIKeys) == 0 {
		b.Logger.Warn("NOTIFY_API_KEYS is not set: every outcall is answered 401 until it is")
	}
	// Any event on the bus means the log advanced: ring the tailer's doorbell.
	sub, err := bus.Subscribe(b.Bus, bus.SubjectEventsAll, "", func(string, registry.Event) { tail.Wake(); hooks.Wake() })
	if err != nil {
		_ = tail.Close(context.Background())
		return httpapi.NotifierDeps{}, err
	}
	b.Stack.Push("events doorbell", func(context.Context) error { return sub.Unsubscribe() })
	b.Stack.Push("event log tailer", tail.Close)
	b.Stack.Push("websocket hub", hub.Close)
	if err := registerHubMetrics(metrics, hub, tail); err != nil {
		return httpapi.NotifierDeps{}, err
	}

	key := ""
	if len(cfg.NotifyAPIKeys) > 0 {
		key = cfg.NotifyAPIKeys[0]
	}
	return httpapi.NotifierDeps{
		Store:       b.Store,
		Logger:      b.Logger,
		Probes:      httpapi.Probes{Ready: b.Ready, Metrics: metrics, Database: b.Store.Backend()},
		Intake:      intake,
		WS:          hub,
		WSStatus:    hub.Status,
		LocalDev:    cfg.LocalDev,
		SimulateKey: key,
	}, nil
}

// registerHubMetrics exports the hub's counters (the same as GET /ws-status) to /metrics.
func registerHubMetrics(reg *prometheus.Registry, hub *ws.Hub, tail *eventlog.Tailer) error {
	cs := []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "canistry_event_log_position", Help: "Id of the last event-log row the hub delivered."},
			func() float64 { return float64(tail.Position()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "canistry_event_log_reads_total", Help: "Reads of the event log by the hub's tailer."},
			func() float64 { return float64(tail.Stats().Reads) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "canistry_event_log_read_errors_total", Help: "Failed reads of the event log (retried)."},
			func() float64 { return float64(tail.Stats().Errors) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "canistry_event_log_skipped_total", Help: "Event ids given up as never committed after the hold-back."},
			func() float64 { return float64(tail.Stats().Skipped) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "canistry_ws_clients", Help: "WebSocket clients connected."},
			func() float64 { return float64(hub.Status().Clients) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "canistry_ws_messages_sent_total", Help: "WebSocket messages written to clients."},
			func() float64 { return float64(hub.Status().MessagesSent) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "canistry_ws_dropped_slow_total", Help: "WebSocket clients disconnected for not keeping up."},
			func() float64 { return float64(hub.Status().DroppedSlow) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "canistry_ws_connections_total", Help: "WebSocket connections accepted."},
			func() float64 { return float64(hub.Status().ConnectionsTotal) }),
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("register websocket metrics: %w", err)
		}
	}
	return nil
}
