// Package httpserver is the HTTP server of every canistry binary, on net/http alone: listening
// (dual-stack or IPv6-only), production limits, JSON replies to requests net/http rejects on its
// own (wire.go), request-smuggling and body-size guards, TLS terminated ahead of net/http with
// HTTP/2, the notifier's loopback-plain split, a drain that never changes a reply's bytes, the
// probes (/healthz, /readyz, /metrics) and the pieces the routers share (reply encoder, request
// metrics, a small net/http router). It knows nothing of gin; the api's gin router (httpapi)
// and the notifier's routes (cmd/notifier) sit on top of it.
package httpserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/net/http2"
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

// Limits bound what one client can hold of a server: time to send the request header and the
// whole request, time to take the reply (a client that stops reading is cut off), time a
// keep-alive connection may sit idle, header and body sizes. Hijacked connections (WebSockets)
// are not subject to them: net/http clears the deadlines on hijack and pkg/ws sets its own.
type Limits struct {
	ReadHeaderTimeout time.Duration // request line and header
	ReadTimeout       time.Duration // whole request, body included
	WriteTimeout      time.Duration // from the end of the request header to the end of the reply
	IdleTimeout       time.Duration // keep-alive connection without a request
	HandshakeTimeout  time.Duration // TLS handshake
	MaxHeaderBytes    int           // request line and header; larger is 431
	MaxBodyBytes      int64         // request body; larger is 413 and the connection closes
}

// DefaultLimits are the limits of every server unless Serve is given WithLimits. The body
// limit is the api's (DefaultMaxBodyBytes, httpapi.MaxBodyBytes); the notifier's intake checks its own, smaller limit first
// (notify.MaxBodyBytes), so that its 413 reply stays the intake's. The idle timeout stays above
// the idle timeout of the api's proxy to the notifier (proxy.go): a client must drop an idle
// connection before the server does, or a request sent as the server closes it fails (502).
func DefaultLimits() Limits {
	return Limits{
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second, // above the api proxy's IdleConnTimeout (90 s), see below
		HandshakeTimeout:  10 * time.Second,
		MaxHeaderBytes:    64 << 10,
		MaxBodyBytes:      DefaultMaxBodyBytes,
	}
}

// ServeOption changes how Serve serves.
type ServeOption func(*Limits)

// WithLimits replaces the default limits.
func WithLimits(l Limits) ServeOption { return func(dst *Limits) { *dst = l } }

// DefaultMaxBodyBytes is the largest request body a server takes unless told otherwise: the
// api's JSON bodies (httpapi.MaxBodyBytes is the same 1 MiB).
const DefaultMaxBodyBytes = 1 << 20

// WithMaxBodyBytes sets the largest request body the server takes.
func WithMaxBodyBytes(n int64) ServeOption { return func(dst *Limits) { dst.MaxBodyBytes = n } }

// Server is an HTTP(S) server on a listener, with production limits (Limits), JSON errors for
// malformed requests (wire.go) and a drain that never changes a reply's bytes (Shutdown).
type Server struct {
	srv    *http.Server
	h2     *http2.Server
	h2stop *http.Server // carries h2's graceful-shutdown hook (GOAWAY), see goAway
	ln     net.Listener // the TCP listener, for Addr
	accept net.Listener // what srv accepts from: wire-wrapped, TLS done
	done   chan error
	logger *slog.Logger

	mu         sync.Mutex
	conns      map[net.Conn]http.ConnState
	draining   bool
	drained    chan struct{} // closed once draining and no connection is left
	onShutdown []func()
}

// Serve starts serving h on ln (TLS when tlsConfig is not nil; HTTP/2 when it offers "h2") in
// the background.
func Serve(ln net.Listener, h http.Handler, tlsConfig *tls.Config, logger *slog.Logger, opts ...ServeOption) *Server {
	limits := DefaultLimits()
	for _, o := range opts {
		o(&limits)
	}
	s := &Server{ln: ln, done: make(chan error, 1), logger: logger,
		conns: make(map[net.Conn]http.ConnState), drained: make(chan struct{})}
	s.srv = &http.Server{
		Handler:           guard(h, limits.MaxBodyBytes),
		ReadHeaderTimeout: limits.ReadHeaderTimeout,
		ReadTimeout:       limits.ReadTimeout,
		WriteTimeout:      limits.WriteTimeout,
		IdleTimeout:       limits.IdleTimeout,
		MaxHeaderBytes:    limits.MaxHeaderBytes,
		ConnState:         s.connState,
		ConnContext:       withWireConn,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
		// TLS is terminated by s.accept (HTTP/1.1 goes on to srv, h2 to s.h2), so that net/http
		// writes its own rejections to a wireConn that can turn them into JSON.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
	s.h2 = &http2.Server{IdleTimeout: limits.IdleTimeout}
	s.h2stop = &http.Server{}
	if err := http2.ConfigureServer(s.h2stop, s.h2); err != nil {
		logger.Warn("http2 graceful shutdown unavailable", "err", err)
	}
	if tlsConfig != nil {
		s.accept = newTLSListener(ln, tlsConfig, limits.HandshakeTimeout, s.serveH2, logger)
	} else {
		s.accept = wireListener{ln}
	}
	go func() {
		err := s.srv.Serve(s.accept)
		s.mu.Lock()
		draining := s.draining
		s.mu.Unlock()
		if errors.Is(err, http.ErrServerClosed) || (draining && errors.Is(err, net.ErrClosed)) {
			err = nil
		}
		s.done <- err
	}()
	return s
}

// serveH2 serves one TLS connection that negotiated h2, until it closes.
func (s *Server) serveH2(c *tls.Conn) {
	s.h2.ServeConn(c, &http2.ServeConnOpts{BaseConfig: s.srv, Handler: s.srv.Handler})
	s.connState(c, http.StateClosed)
}

// Addr is the listening address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Done delivers the serve error (nil after a clean Shutdown).
func (s *Server) Done() <-chan error { return s.done }

// RegisterOnShutdown adds a function called when Shutdown starts (to close hijacked
// connections such as WebSockets, which the server does not track).
func (s *Server) RegisterOnShutdown(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onShutdown = append(s.onShutdown, f)
}

// connState tracks every connection (HTTP/1.1 and h2). While draining it closes an HTTP/1.1
// connection as soon as it has no request in flight; an h2 connection closes itself after the
// GOAWAY once its last stream is written (closing it here could cut off frames still buffered).
func (s *Server) connState(c net.Conn, st http.ConnState) {
	wc, http1 := c.(*wireConn)
	if st == http.StateHijacked && http1 {
		wc.hijack()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch st {
	case http.StateHijacked, http.StateClosed:
		delete(s.conns, c)
	default:
		_, known := s.conns[c]
		s.conns[c] = st
		switch {
		case s.draining && http1 && st != http.StateActive:
			go c.Close()
		case s.draining && !http1 && !known:
			go s.goAway() // an h2 connection that began as the drain started
		}
	}
	s.noteDrainedLocked()
}

// goAway sends a GOAWAY to every h2 connection that has not had one: h2's graceful shutdown is
// reachable only through the hook http2.ConfigureServer registers on an http.Server, so it is
// registered on h2stop, which serves nothing.
func (s *Server) goAway() { _ = s.h2stop.Shutdown(context.Background()) }

func (s *Server) noteDrainedLocked() {
	if s.draining && len(s.conns) == 0 {
		select {
		case <-s.drained:
		default:
			close(s.drained)
		}
	}
}

// Shutdown drains the server so that no reply's bytes depend on it. net/http's own Shutdown
// (and SetKeepAlivesEnabled(false)) make every reply written afterwards carry
// "Connection: close", so that copies of one outcall answered before and after would differ.
// Instead: the listener closes first (new connections are refused at the TCP level), idle
// HTTP/1.1 connections close at once, requests in flight finish with their normal bytes and
// their connection closes when it goes idle; h2 connections get a GOAWAY and close when their
// streams are done. What is left when ctx ends is closed hard.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.draining = true
	var idle []net.Conn
	for c, st := range s.conns {
		if _, http1 := c.(*wireConn); http1 && st != http.StateActive {
			idle = append(idle, c)
		}
	}
	hooks := append([]func(){}, s.onShutdown...)
	s.noteDrainedLocked()
	s.mu.Unlock()

	_ = s.accept.Close()
	for _, c := range idle {
		_ = c.Close()
	}
	for _, f := range hooks {
		go f()
	}
	go s.goAway()

	select {
	case <-s.drained:
		return nil
	case <-ctx.Done():
		_ = s.srv.Close()
		s.mu.Lock()
		for c := range s.conns {
			_ = c.Close()
		}
		s.mu.Unlock()
		return ctx.Err()
	}
}
