//go:build linux

package ws

import (
	"errors"
	"sync"
	"syscall"
)

// poller waits, in one goroutine for the whole hub, until a client's socket has bytes to read
// (epoll(7)), then reads them without blocking (through the socket's syscall.RawConn, so a
// closed connection is never touched) and hands them to the client's frame parser. So an idle
// connection costs no goroutine and no read buffer: clients send only pongs, the odd ping and
// a close.
//
// Each socket is registered level-triggered with EPOLLONESHOT and re-armed (through the
// RawConn again) after its bytes are handled; a closed socket leaves the epoll set by itself.
// Events carry a registration id, never a descriptor number, so a number reused by a newer
// connection cannot reach an older client. The runtime's own netpoller keeps watching the same
// sockets for the writers; an epoll set may share descriptors with another.
type poller struct {
	epfd int
	wake [2]int // a pipe: close writes to it to stop run
	done chan struct{}
	stop sync.Once

	mu     sync.Mutex
	conns  map[uint64]*client
	next   uint64 // the last id given out; 0 is the wake pipe
	closed bool   // the descriptors are released: add must not touch them

	buf [4096]byte // run's read buffer, shared by every connection
}

const pollEvents = syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT

// newPoller starts the hub's poller; nil with the error when epoll fails, and then every client
// gets a reader goroutine instead.
func newPoller() (*poller, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	p := &poller{epfd: epfd, done: make(chan struct{}), conns: map[uint64]*client{}}
	if err := syscall.Pipe2(p.wake[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
		_ = syscall.Close(epfd)
		return nil, err
	}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, p.wake[0], &syscall.EpollEvent{Events: syscall.EPOLLIN}); err != nil {
		p.release()
		return nil, err
	}
	go p.run()
	return p, nil
}

func (p *poller) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	_ = syscall.Close(p.wake[0])
	_ = syscall.Close(p.wake[1])
	_ = syscall.Close(p.epfd)
}

// errNotSocket: the connection is not a plain socket (TLS, a test's pipe); it gets a reader
// goroutine.
var errNotSocket = errors.New("not a socket the poller can read")

// add starts watching c's socket.
func (p *poller) add(c *client) error {
	if p == nil {
		return errNotSocket
	}
	sc, ok := c.nc.(syscall.Conn)
	if !ok {
		return errNotSocket
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return errNotSocket
	}
	p.next++
	c.raw, c.pollID = raw, p.next
	p.conns[c.pollID] = c
	if err := p.arm(c, syscall.EPOLL_CTL_ADD); err != nil {
		delete(p.conns, c.pollID)
		return err
	}
	return nil
}

// arm registers (EPOLL_CTL_ADD) or re-arms (EPOLL_CTL_MOD) c's socket; it fails once the
// connection is closed.
func (p *poller) arm(c *client, op int) error {
	ev := syscall.EpollEvent{Events: pollEvents, Fd: int32(uint32(c.pollID)), Pad: int32(uint32(c.pollID >> 32))}
	var cerr error
	if err := c.raw.Control(func(fd uintptr) { cerr = syscall.EpollCtl(p.epfd, op, int(fd), &ev) }); err != nil {
		return err
	}
	return cerr
}

// forget stops delivering c's events (its socket is closed or about to be).
func (p *poller) forget(c *client) {
	if p == nil || c.pollID == 0 {
		return
	}
	p.mu.Lock()
	delete(p.conns, c.pollID)
	p.mu.Unlock()
}

// run waits for readable sockets until close.
func (p *poller) run() {
	defer close(p.done)
	defer p.release()
	events := make([]syscall.EpollEvent, 128)
	for {
		n, err := syscall.EpollWait(p.epfd, events, -1)
		if err != nil {
			if err == syscall.EINTR {
				continue
			}
			p.failAll()
			return
		}
		for _, ev := range events[:n] {
			id := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
			if id == 0 {
				return // close
			}
			p.mu.Lock()
			c := p.conns[id]
			p.mu.Unlock()
			if c != nil {
				p.readable(c)
			}
		}
	}
}

// readable reads what c's socket holds (one read: the socket stays readable, and so is reported
// again, if more is left) and re-arms it unless the client is done.
func (p *poller) readable(c *client) {
	var n int
	var rerr error
	err := c.raw.Read(func(fd uintptr) bool {
		n, rerr = syscall.Read(int(fd), p.buf[:])
		return true // never wait in the runtime's netpoller
	})
	switch {
	case err != nil: // closed meanwhile
		c.end()
		return
	case rerr == syscall.EAGAIN || rerr == syscall.EINTR:
	case rerr != nil || n <= 0: // reset, or the peer's end of stream
		c.end()
		return
	case !c.received(p.buf[:n]):
		return
	}
	if p.arm(c, syscall.EPOLL_CTL_MOD) != nil {
		c.end()
	}
}

// failAll ends every watched connection: epoll itself failed, and nothing would read them.
func (p *poller) failAll() {
	p.mu.Lock()
	cs := make([]*client, 0, len(p.conns))
	for _, c := range p.conns {
		cs = append(cs, c)
	}
	p.mu.Unlock()
	for _, c := range cs {
		c.end()
	}
}

// close stops run and waits for it. Connections still open are no longer read.
func (p *poller) close() {
	if p == nil {
		return
	}
	p.stop.Do(func() { _, _ = syscall.Write(p.wake[1], []byte{1}) })
	<-p.done
}
