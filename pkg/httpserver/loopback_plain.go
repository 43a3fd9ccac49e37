package httpserver

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// tlsRecordHandshake is the first byte of every TLS connection (a handshake record).
const tlsRecordHandshake = 0x16

// sniffTimeout bounds how long a loopback peer may take to send its first byte.
const sniffTimeout = 10 * time.Second

// SplitLoopbackPlain splits ln in two: tlsSide gets every connection meant for TLS, plainSide
// the plain-HTTP connections of loopback peers. A loopback peer's first byte tells which it
// speaks (a TLS connection starts with a handshake record, 0x16; HTTP with a method name);
// other peers are never read before their handshake, so to them the port is an ordinary TLS
// port. Serve tlsSide with the TLS config and plainSide without.
//
// This is the notifier's listener under USE_HTTPS=true: the public side is TLS only, and the
// api's proxy on the same host keeps reaching it at the default NOTIFIER_URL
// (http://[::1]:8081), so the proxy never has to verify a certificate issued for the public
// name against a loopback address. Closing either side closes ln (new connections are refused
// at the TCP level); each side's Accept reports net.ErrClosed once that side is closed.
func SplitLoopbackPlain(ln net.Listener) (tlsSide, plainSide net.Listener) {
	s := &splitListener{ln: ln, dead: make(chan struct{})}
	s.tls = &splitSide{parent: s, conns: make(chan net.Conn), done: make(chan struct{})}
	s.plain = &splitSide{parent: s, conns: make(chan net.Conn), done: make(chan struct{})}
	go s.acceptLoop()
	return s.tls, s.plain
}

type splitListener struct {
	ln         net.Listener
	tls, plain *splitSide
	closeOnce  sync.Once
	closing    atomic.Bool   // a side closed ln
	dead       chan struct{} // closed when ln stopped accepting; err says why (nil: closed by a side)
	err        error
}

func (s *splitListener) acceptLoop() {
	var backoff time.Duration
	for {
		c, err := s.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				time.Sleep(backoff)
				continue
			}
			if !s.closing.Load() {
				s.err = err
			}
			close(s.dead)
			return
		}
		backoff = 0
		if !isLoopback(c.RemoteAddr()) {
			s.tls.deliver(c)
			continue
		}
		go s.sniff(c)
	}
}

// sniff reads a loopback peer's first byte and delivers the connection to the side it speaks.
func (s *splitListener) sniff(c net.Conn) {
	var first [1]byte
	_ = c.SetReadDeadline(time.Now().Add(sniffTimeout))
	if _, err := c.Read(first[:]); err != nil {
		_ = c.Close()
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	pc := &prefixConn{Conn: c, prefix: first[:]}
	if first[0] == tlsRecordHandshake {
		s.tls.deliver(pc)
	} else {
		s.plain.deliver(pc)
	}
}

func (s *splitListener) close() error {
	err := net.ErrClosed
	s.closeOnce.Do(func() {
		s.closing.Store(true)
		err = s.ln.Close()
	})
	return err
}

// splitSide is one side of a splitListener.
type splitSide struct {
	parent    *splitListener
	conns     chan net.Conn
	done      chan struct{}
	closeOnce sync.Once
}

func (l *splitSide) deliver(c net.Conn) {
	select {
	case l.conns <- c:
	case <-l.done:
		_ = c.Close()
	}
}

// Accept returns the next connection of this side.
func (l *splitSide) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	case <-l.parent.dead:
		if l.parent.err != nil {
			return nil, l.parent.err
		}
		// The other side closed the listener: this side's server is being shut down too, and
		// learns it from its own Close, so that it sees net.ErrClosed while draining.
		<-l.done
		return nil, net.ErrClosed
	}
}

// Close closes this side and the shared listener.
func (l *splitSide) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.parent.close()
}

// Addr is the shared listener's address.
func (l *splitSide) Addr() net.Addr { return l.parent.ln.Addr() }

func isLoopback(a net.Addr) bool {
	tcp, ok := a.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// prefixConn is a connection whose first bytes were already read.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(b []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(b, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(b)
}
