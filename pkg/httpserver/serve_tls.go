package httpserver

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"canistry/pkg/registry"
)

// tlsListener terminates TLS itself, one goroutine per handshake (bounded by a timeout), so
// that a slow handshake never blocks Accept. A connection that negotiated h2 goes to serveH2;
// any other is handed to net/http as a wireConn (see wireConn for why not as a *tls.Conn).
type tlsListener struct {
	ln      net.Listener
	cfg     *tls.Config
	timeout time.Duration
	serveH2 func(*tls.Conn)
	logger  *slog.Logger

	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
	mu     sync.Mutex
	shaken map[net.Conn]struct{} // connections in their handshake
	err    error
}

func newTLSListener(ln net.Listener, cfg *tls.Config, timeout time.Duration, serveH2 func(*tls.Conn), logger *slog.Logger) *tlsListener {
	l := &tlsListener{ln: ln, cfg: cfg, timeout: timeout, serveH2: serveH2, logger: logger,
		conns: make(chan net.Conn), closed: make(chan struct{}), shaken: make(map[net.Conn]struct{})}
	go l.acceptLoop()
	return l
}

func (l *tlsListener) acceptLoop() {
	var backoff time.Duration
	for {
		c, err := l.ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) { // out of file descriptors and the like: retry, as net/http does
				l.logger.Debug("accept failed", "err", err)
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				time.Sleep(backoff)
				continue
			}
			l.mu.Lock()
			l.err = err
			l.mu.Unlock()
			_ = l.Close()
			return
		}
		backoff = 0
		l.mu.Lock()
		l.shaken[c] = struct{}{}
		l.mu.Unlock()
		go l.handshake(c)
	}
}

func (l *tlsListener) handshake(raw net.Conn) {
	tc := tls.Server(raw, l.cfg)
	ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	err := tc.HandshakeContext(ctx)
	cancel()
	l.mu.Lock()
	delete(l.shaken, raw)
	l.mu.Unlock()
	if err != nil {
		var re tls.RecordHeaderError
		if errors.As(err, &re) && re.Conn != nil && looksLikeHTTP(re.RecordHeader) {
			_ = raw.SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = raw.Write(rawJSONReply(http.StatusBadRequest, registry.Errorf(registry.EINVALID,
				"this server speaks HTTPS only: use https://")))
		}
		l.logger.Debug("tls handshake failed", "remote", raw.RemoteAddr().String(), "err", err)
		_ = raw.Close()
		return
	}
	state := tc.ConnectionState()
	select {
	case <-l.closed:
		_ = tc.Close()
		return
	default:
	}
	if state.NegotiatedProtocol == "h2" {
		l.serveH2(tc)
		return
	}
	select {
	case l.conns <- newWireConn(tc, &state):
	case <-l.closed:
		_ = tc.Close()
	}
}

// looksLikeHTTP reports whether the first bytes of a would-be TLS record are plain HTTP.
func looksLikeHTTP(hdr [5]byte) bool {
	switch string(hdr[:]) {
	case "GET /", "HEAD ", "POST ", "PUT /", "OPTIO", "DELET", "PATCH", "CONNE", "TRACE":
		return true
	}
	return false
}

// Accept returns the next connection whose handshake is done.
func (l *tlsListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.err != nil {
			return nil, l.err
		}
		return nil, net.ErrClosed
	}
}

// Close closes the listener and every connection still in its handshake.
func (l *tlsListener) Close() error {
	var err error
	l.once.Do(func() {
		close(l.closed)
		err = l.ln.Close()
		l.mu.Lock()
		for c := range l.shaken {
			_ = c.Close()
		}
		l.mu.Unlock()
	})
	return err
}

// Addr is the listening address.
func (l *tlsListener) Addr() net.Addr { return l.ln.Addr() }
