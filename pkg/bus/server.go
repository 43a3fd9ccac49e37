// Package bus is canistry's NATS adapter: the embedded server the api hosts (Serve), the
// reconnecting client every binary uses (Connect), the subject names, and typed JSON
// publish/subscribe. The database is the source of truth; the bus only carries triggers and
// events, so a bus outage loses no data.
package bus

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"canistry/pkg/config"
)

// Server is an embedded NATS server.
type Server struct {
	ns *server.Server
}

// ServerConfig configures Serve.
type ServerConfig struct {
	// URL is nats://host:port to listen on (port 0 picks a free one; see ClientURL).
	URL string
	// Token, when set, is required of every client.
	Token string
	// ReadyTimeout bounds the wait for the server to accept connections.
	ReadyTimeout time.Duration
	Logger       *slog.Logger
	// Cluster, when its Listen is set, joins this server into a NATS cluster.
	Cluster ClusterConfig
}

// ClusterConfig makes several embedded servers (one per api host, plus any standalone node)
// one NATS cluster: a message published on any node reaches subscribers on every node, and a
// queue group is served once across all of them.
type ClusterConfig struct {
	// Name is the cluster's name; every node must use the same one.
	Name string
	// Listen is host:port for routes from the other nodes.
	Listen string
	// Routes are the other nodes' route addresses (host:port). Listing this node's own address
	// too is harmless, so every node can share one list.
	Routes []string
}

// routeUser is the user name of route connections; their password is the bus token, so a node
// without the token cannot join.
const routeUser = "canistry"

// clusterOptions fills the route part of opts from c.
func clusterOptions(opts *server.Options, c ClusterConfig, token string) error {
	host, portText, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return fmt.Errorf("NATS cluster listen address %q: %w", c.Listen, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port <= 0 || port > 65535 {
		return fmt.Errorf("NATS cluster listen address %q: the port must be 1-65535", c.Listen)
	}
	opts.Cluster = server.ClusterOpts{Name: c.Name, Host: host, Port: port}
	if token != "" {
		opts.Cluster.Username, opts.Cluster.Password = routeUser, token
	}
	for _, r := range c.Routes {
		if _, _, err := net.SplitHostPort(r); err != nil {
			return fmt.Errorf("NATS cluster route %q: want host:port: %w", r, err)
		}
		u := &url.URL{Scheme: "nats-route", Host: r}
		if token != "" {
			u.User = url.UserPassword(routeUser, token)
		}
		opts.Routes = append(opts.Routes, u)
	}
	// Node names must differ across the cluster: name each after its client address.
	opts.ServerName = "canistry-" + net.JoinHostPort(opts.Host, strconv.Itoa(opts.Port))
	return nil
}

// Serve starts an embedded NATS server and waits until it accepts connections. It never
// installs signal handlers (NoSigs): the binary that embeds it owns shutdown.
func Serve(cfg ServerConfig) (*Server, error) {
	u, err := url.Parse(strings.Split(cfg.URL, ",")[0])
	if err != nil {
		return nil, fmt.Errorf("parse NATS URL %s: not a URL", config.RedactURLs(cfg.URL))
	}
	host := u.Hostname()
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		return nil, fmt.Errorf("NATS URL %s needs a port: %w", config.RedactURLs(cfg.URL), err)
	}
	if port == 0 {
		port = server.RANDOM_PORT // nats-server reads 0 as its default port, 4222
	}
	opts := &server.Options{
		ServerName:    "canistry-api",
		Host:          host,
		Port:          port,
		NoSigs:        true,
		NoLog:         true,
		Authorization: cfg.Token,
		MaxPayload:    1 << 20,
	}
	if cfg.Cluster.Listen != "" {
		if err := clusterOptions(opts, cfg.Cluster, cfg.Token); err != nil {
			return nil, err
		}
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("create NATS server: %w", err)
	}
	if cfg.Logger != nil {
		ns.SetLoggerV2(&natsLogger{l: cfg.Logger.With("component", "nats-server")}, false, false, false)
	}
	go ns.Start()
	wait := cfg.ReadyTimeout
	if wait <= 0 {
		wait = 10 * time.Second
	}
	if !ns.ReadyForConnections(wait) {
		ns.Shutdown()
		return nil, fmt.Errorf("NATS server on %s not ready within %s (is the port in use?)", net.JoinHostPort(host, u.Port()), wait)
	}
	return &Server{ns: ns}, nil
}

// ClientURL is the URL clients connect to (with the real port when 0 was asked for).
func (s *Server) ClientURL() string { return s.ns.ClientURL() }

// NumClients is the number of connected clients.
func (s *Server) NumClients() int { return s.ns.NumClients() }

// NumRoutes is the number of cluster routes to other nodes.
func (s *Server) NumRoutes() int { return s.ns.NumRoutes() }

// Name is the server's name (unique in a cluster).
func (s *Server) Name() string { return s.ns.Name() }

// Shutdown stops the server and waits for it.
func (s *Server) Shutdown() {
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
}

// natsLogger adapts nats-server logging to slog.
type natsLogger struct{ l *slog.Logger }

func (n *natsLogger) Noticef(format string, v ...any) { n.l.Debug(fmt.Sprintf(format, v...)) }
func (n *natsLogger) Warnf(format string, v ...any)   { n.l.Warn(fmt.Sprintf(format, v...)) }
func (n *natsLogger) Fatalf(format string, v ...any)  { n.l.Error(fmt.Sprintf(format, v...)) }
func (n *natsLogger) Errorf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	if strings.Contains(msg, "Error trying to connect to route") {
		// A cluster node not (yet, or no longer) up: routes are retried; worth a warning.
		n.l.Warn(msg)
		return
	}
	if strings.Contains(msg, "authentication error") || strings.Contains(msg, "Authorization Violation") {
		// A client without the token (or with a wrong one) is refused: worth a warning, but
		// not an error of this server.
		n.l.Warn(msg)
		return
	}
	n.l.Error(msg)
}
func (n *natsLogger) Debugf(format string, v ...any) { n.l.Debug(fmt.Sprintf(format, v...)) }
func (n *natsLogger) Tracef(format string, v ...any) {}
