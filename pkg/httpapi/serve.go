package httpapi

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Listen opens a TCP listener on addr. "[::]:port" is dual-stack (IPv4 and IPv6) unless
// ipv6Only is set, in which case the socket is IPV6_V6ONLY. Listening before serving makes bind
// errors immediate and lets tests use port 0.
func Listen(ctx context.Context, addr string, ipv6Only bool) (net.Listener, error) {
	network := "tcp"
	if ipv6Only {
		network = "tcp6"
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	return ln, nil
}

// Server is an HTTP(S) server on a listener, with production timeouts.
type Server struct {
	srv    *http.Server
	ln     net.Listener
	done   chan error
	logger *slog.Logger
}

// Serve starts serving h on ln (TLS when tlsConfig is not nil) in the background.
func Serve(ln net.Listener, h http.Handler, tlsConfig *tls.Config, logger *slog.Logger) *Server {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		TLSConfig:         tlsConfig,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
	s := &Server{srv: srv, ln: ln, done: make(chan error, 1), logger: logger}
	if tlsConfig != nil {
		ln = tls.NewListener(ln, tlsConfig)
	}
	go func() {
		err := srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	return s
}

// Addr is the listening address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Done delivers the serve error (nil after a clean Shutdown).
func (s *Server) Done() <-chan error { return s.done }

// RegisterOnShutdown adds a function called when Shutdown starts (to close hijacked
// connections such as WebSockets, which http.Server does not track).
func (s *Server) RegisterOnShutdown(f func()) { s.srv.RegisterOnShutdown(f) }

// Shutdown stops accepting, waits for in-flight requests until ctx ends, then closes the rest.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		_ = s.srv.Close()
	}
	return err
}
