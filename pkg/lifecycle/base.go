package lifecycle

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"canistry/pkg/bus"
	"canistry/pkg/config"
	"canistry/pkg/httpserver"
	"canistry/pkg/registry"
	"canistry/pkg/store"
	"canistry/pkg/tlsconfig"
	"canistry/pkg/version"
)

// Base is what every binary opens before its own work: configuration, logger, database and
// bus, with their shutdown steps already on Stack.
type Base struct {
	Name    string
	Config  config.Config
	Logger  *slog.Logger
	Store   *store.Store
	Bus     *bus.Conn
	NATS    *bus.Server // the embedded server, api only
	NATSURL string      // where Bus connects (the embedded server's real URL when it runs)
	Started time.Time
	Stack   Stack
	// Getenv reads the environment merged with the -env-file, as the configuration was read
	// (the relay expands its routes' ${VAR}s with it).
	Getenv func(string) string

	onListen func(net.Addr)
	lastBeat atomic.Int64                       // unix ns of the last heartbeat written (metrics.go)
	certs    atomic.Pointer[tlsconfig.Reloader] // the served certificate, once TLS has loaded it
}

// Options tunes Start.
type Options struct {
	// EmbedNATS starts the embedded NATS server when the configuration asks for it (api).
	EmbedNATS bool
	// OnListen, when set, is told the bound HTTP address once the binary serves (Serving): how
	// tests that run a binary in-process on port 0 learn where it listens.
	OnListen func(net.Addr)
	// CheckRelayRoutes, when set, validates the RELAY_ROUTES file for check-config as the binary
	// will load it (the notifier passes pkg/relay's loader: lifecycle cannot import it); unset,
	// check-config only checks that a named file is readable JSON.
	CheckRelayRoutes func(path string, getenv func(string) string) error
}

// Start parses args (the command line of every binary: cli.go), loads the configuration, and
// opens the logger, the store, the embedded NATS server (when asked) and the bus connection.
// On error everything opened so far is closed again; on success the caller defers Close at
// once, so that no later error path can leave anything open.
//
// When args ask for --version, --help or check-config, Start answers on stdout and returns a nil
// Base: with a nil error the binary exits 0, otherwise (check-config found problems) 1.
func Start(ctx context.Context, name string, args []string, getenv func(string) string, stdout io.Writer, opts Options) (*Base, error) {
	a, err := parseArgs(name, args)
	if err != nil {
		return nil, err
	}
	switch a.cmd {
	case cmdVersion:
		printVersion(stdout, name)
		return nil, nil
	case cmdHelp:
		printHelp(stdout, name)
		return nil, nil
	case cmdCheck:
		return nil, checkConfig(ctx, name, a, getenv, stdout, opts.CheckRelayRoutes)
	}
	getenv, err = a.withEnv(getenv)
	if err != nil {
		return nil, err
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return nil, err
	}
	b := &Base{Name: name, Config: cfg, Started: time.Now(), NATSURL: cfg.NATSURL, Getenv: getenv, onListen: opts.OnListen}
	b.Logger = NewLogger(stdout, cfg.LogLevel, name)
	if err := b.open(ctx, opts); err != nil {
		_ = b.Close()
		return nil, err
	}
	return b, nil
}

// Close runs the shutdown stack (everything Start and the binary pushed, in reverse) within
// SHUTDOWN_TIMEOUT and empties it: a second Close, or a Close after Wait, does nothing.
func (b *Base) Close() error {
	return b.Stack.Shutdown(b.Config.ShutdownTimeout, b.Logger)
}

// Listen opens the TCP listener of the binary's HTTP server (httpserver.Listen) and pushes its
// close at once, so that an error before the server runs cannot leak it. The server's own
// Shutdown closes it first; the pushed step then finds it closed.
func (b *Base) Listen(ctx context.Context, addr string, ipv6Only bool) (net.Listener, error) {
	ln, err := httpserver.Listen(ctx, addr, ipv6Only)
	if err != nil {
		return nil, err
	}
	b.Stack.Push("listener", func(context.Context) error {
		if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			return err
		}
		return nil
	})
	return ln, nil
}

// Serve serves h on ln (httpserver.Serve, TLS when tlsConfig is set) and pushes the server's
// drain. The server's Done delivers a fatal serve error.
func (b *Base) Serve(ln net.Listener, h http.Handler, tlsConfig *tls.Config) *httpserver.Server {
	srv := httpserver.Serve(ln, h, tlsConfig, b.Logger)
	b.Stack.Push("http server", srv.Shutdown)
	return srv
}

// Serving logs the "listening" record (addr and attrs) and tells Options.OnListen the address.
func (b *Base) Serving(addr net.Addr, attrs ...any) {
	b.Logger.Info("listening", append([]any{"addr", addr.String()}, attrs...)...)
	if b.onListen != nil {
		b.onListen(addr)
	}
}

func (b *Base) open(ctx context.Context, opts Options) error {
	cfg := b.Config
	target := cfg.DatabasePath
	if cfg.DatabaseURL != "" {
		target = cfg.DatabaseURL
	}
	st, err := store.Open(ctx, target, store.WithMaxConns(cfg.DatabaseMaxConns), store.WithStatementTimeout(cfg.DatabaseStatementTimeout))
	if err != nil {
		return err
	}
	b.Store = st
	b.Stack.Push("store", func(context.Context) error { return st.Close() })

	token, err := b.natsToken()
	if err != nil {
		return err
	}
	if opts.EmbedNATS && cfg.NATSEmbed {
		ns, err := bus.Serve(bus.ServerConfig{URL: cfg.NATSURL, Token: token, Logger: b.Logger,
			Cluster: bus.ClusterConfig{Name: cfg.NATSClusterName, Listen: cfg.NATSClusterListen, Routes: cfg.NATSClusterRoutes}})
		if err != nil {
			return err
		}
		b.NATS, b.NATSURL = ns, ns.ClientURL()
		if cfg.NATSClusterListen != "" {
			// Clients of this host also know the other nodes: if this one dies they fail over.
			b.NATSURL = cfg.NATSURL
			b.Logger.Info("NATS cluster node", "name", ns.Name(), "cluster", cfg.NATSClusterName,
				"listen", cfg.NATSClusterListen, "routes", cfg.NATSClusterRoutes)
		}
		b.Stack.PushFunc("nats server", ns.Shutdown)
	}
	conn, err := bus.Connect(bus.ConnectConfig{URL: b.NATSURL, Token: token, Name: "canistry-" + b.Name, Logger: b.Logger})
	if err != nil {
		return err
	}
	b.Bus = conn
	b.Stack.PushFunc("bus", conn.Close)
	return nil
}

// natsToken is NATS_TOKEN, or, when it is unset and the api embeds the server, the token
// generated once per data directory and kept beside the database (DATA_DIR/nats.token, mode
// 0600), which the three binaries read alike: the embedded server never runs without
// authentication. With an external server (NATS_EMBED=false) and no NATS_TOKEN, none is sent.
func (b *Base) natsToken() (string, error) {
	cfg := b.Config
	if cfg.NATSToken != "" || !cfg.NATSEmbed {
		return cfg.NATSToken, nil
	}
	path := filepath.Join(filepath.Dir(cfg.DatabasePath), bus.TokenFile)
	token, fixed, err := bus.DataDirToken(path)
	if err != nil {
		return "", err
	}
	if fixed {
		b.Logger.Warn("NATS token file was readable by others; its mode is now 0600 (consider removing it to rotate the token)", "file", path)
	}
	return token, nil
}

// StartHeartbeat writes this process's heartbeat row every HeartbeatInterval until shutdown.
func (b *Base) StartHeartbeat(addr string) {
	host, _ := os.Hostname()
	p := registry.Process{Name: b.Name, Instance: host + ":" + strconv.Itoa(os.Getpid()),
		Version: version.Version, StartedAt: b.Started, Addr: addr}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		interval := b.Config.HeartbeatInterval
		// Each beat gets its own generous deadline (HeartbeatWriteTimeout) instead of Heartbeat's
		// one interval, so that a busy database delays a beat instead of failing it.
		Heartbeat(ctx, interval, b.Logger, func(context.Context) error {
			wctx, cancel := context.WithTimeout(ctx, HeartbeatWriteTimeout(interval))
			defer cancel()
			if err := b.Store.Heartbeat(wctx, p); err != nil {
				return err
			}
			b.lastBeat.Store(time.Now().UnixNano())
			return nil
		})
	}()
	b.Stack.PushFunc("heartbeat", func() { cancel(); <-done })
}

// ShownNATSURL is NATSURL as logs and /system/status show it: without a user, password or
// token (config.RedactURLs), which NATS_URL may carry (nats://token@host, user:password@host).
func (b *Base) ShownNATSURL() string { return config.RedactURLs(b.NATSURL) }

// Ready reports whether the database answers and the bus is connected: the /readyz check.
// A database error names the backend (sqlite or postgres).
func (b *Base) Ready(ctx context.Context) error {
	if err := b.Store.Ping(ctx); err != nil {
		return fmt.Errorf("%s: %w", b.Store.Backend(), err)
	}
	if !b.Bus.Connected() {
		return fmt.Errorf("NATS %s", b.Bus.Status())
	}
	return nil
}

// Wait blocks until ctx ends or fatal delivers an error, then shuts everything down in
// reverse order within SHUTDOWN_TIMEOUT. It returns the fatal error, if any, joined with
// shutdown errors.
func (b *Base) Wait(ctx context.Context, fatal <-chan error) error {
	var ferr error
	select {
	case <-ctx.Done():
		b.Logger.Info("shutting down", "reason", context.Cause(ctx))
	case ferr = <-fatal:
		b.Logger.Error("fatal error, shutting down", "err", ferr)
	}
	start := time.Now()
	err := b.Close()
	if err == nil && ferr == nil {
		b.Logger.Info("stopped", "took", time.Since(start).Round(time.Millisecond).String())
	}
	if ferr != nil {
		return fmt.Errorf("%s: %w", b.Name, ferr)
	}
	return err
}

// TLS returns the TLS configuration (with certificate hot reload) when USE_HTTPS is set, and
// nil for plain HTTP (the default, also behind a load balancer that terminates TLS).
func (b *Base) TLS() (*tls.Config, error) {
	if !b.Config.UseHTTPS {
		return nil, nil
	}
	certs, err := tlsconfig.Load(b.Config.SSLCertPath, b.Config.SSLKeyPath, b.Config.LocalDev, b.Logger)
	if err != nil {
		return nil, fmt.Errorf("USE_HTTPS: %w", err)
	}
	b.certs.Store(certs)
	return certs.TLSConfig(), nil
}
