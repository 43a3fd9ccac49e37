package ws_test

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestFanoutClients is BenchmarkFanout's child process, not a test: it opens the clients, says
// "ready", and after every round prints each client's latency in µs ("round K µs µs …").
//
// It reads all connections from one goroutine through its own epoll instance and parses the
// (unmasked, small) server frames by hand, so that the clients, which share the machine with
// the server under test, cost as little CPU as possible: about one read(2) per delivery.
func TestFanoutClients(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv(envClients))
	if n == 0 {
		t.Skip("runs only as BenchmarkFanout's client process")
	}
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) == nil && rl.Cur < rl.Max {
		rl.Cur = rl.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
	}
	conns, err := dialClients(os.Getenv(envURL), n)
	if err != nil {
		t.Fatal(err)
	}
	epfd, err := watch(conns)
	if err != nil {
		t.Fatal(err)
	}
	var quit atomic.Bool
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); quit.Store(true) }()
	fmt.Println("ready")
	r := &roundReader{n: n, rounds: map[int64][]string{}, pending: map[int][]byte{}}
	events := make([]syscall.EpollEvent, 512)
	for !quit.Load() {
		k, err := syscall.EpollWait(epfd, events, 100)
		if err != nil && err != syscall.EINTR {
			t.Fatal(err)
		}
		for _, ev := range events[:max(k, 0)] {
			r.drain(int(ev.Fd))
		}
	}
	for _, c := range conns {
		_ = c.SetLinger(0) // no TIME_WAIT left behind
		_ = c.Close()
	}
}

// dialClients opens n WebSocket connections (64 handshakes at a time) and returns their TCP
// connections; the server sends nothing before the first round, so nothing is buffered.
func dialClients(url string, n int) ([]*net.TCPConn, error) {
	dialer := websocket.Dialer{ReadBufferSize: 256, WriteBufferSize: 256, HandshakeTimeout: time.Minute}
	conns := make([]*net.TCPConn, n)
	errs := make([]error, n)
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	for i := range conns {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c, _, err := dialer.Dial(url, http.Header{})
			if err != nil {
				errs[i] = err
				return
			}
			conns[i] = c.UnderlyingConn().(*net.TCPConn)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("dial: %w", err)
		}
	}
	return conns, nil
}

// watch adds every connection's descriptor to a new epoll instance.
func watch(conns []*net.TCPConn) (int, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return 0, err
	}
	for _, c := range conns {
		rc, err := c.SyscallConn()
		if err != nil {
			return 0, err
		}
		var cerr error
		err = rc.Control(func(fd uintptr) {
			cerr = syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, int(fd), &syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(fd)})
		})
		if err != nil || cerr != nil {
			return 0, fmt.Errorf("epoll add: %v %v", err, cerr)
		}
	}
	return epfd, nil
}

// roundReader parses frames and prints a round once every client has it.
type roundReader struct {
	n       int
	rounds  map[int64][]string
	pending map[int][]byte // partial frames per descriptor
	buf     [4096]byte
}

func (r *roundReader) drain(fd int) {
	for {
		k, err := syscall.Read(fd, r.buf[:])
		if k <= 0 || err != nil {
			return
		}
		at := time.Now().UnixNano()
		data := append(r.pending[fd], r.buf[:k]...)
		for {
			payload, rest, ok := nextFrame(data)
			if !ok {
				break
			}
			round, sent := fieldInt(payload, `"round":`), fieldInt(payload, `"sent":`)
			if round > 0 {
				r.rounds[round] = append(r.rounds[round], strconv.FormatInt((at-sent)/1000, 10))
				if len(r.rounds[round]) == r.n {
					fmt.Printf("round %d %s\n", round, strings.Join(r.rounds[round], " "))
					delete(r.rounds, round)
				}
			}
			data = rest
		}
		if len(data) > 0 {
			r.pending[fd] = append([]byte(nil), data...)
		} else {
			delete(r.pending, fd)
		}
		if k < len(r.buf) {
			return
		}
	}
}

// nextFrame splits one whole unmasked frame off b.
func nextFrame(b []byte) (payload, rest []byte, ok bool) {
	if len(b) < 2 {
		return nil, b, false
	}
	n, h := uint64(b[1]&0x7f), 2
	switch n {
	case 126:
		if len(b) < 4 {
			return nil, b, false
		}
		n, h = uint64(binary.BigEndian.Uint16(b[2:])), 4
	case 127:
		if len(b) < 10 {
			return nil, b, false
		}
		n, h = binary.BigEndian.Uint64(b[2:]), 10
	}
	if uint64(len(b)-h) < n {
		return nil, b, false
	}
	return b[h : h+int(n)], b[h+int(n):], true
}

// fieldInt returns the integer after name in a small JSON message.
func fieldInt(b []byte, name string) int64 {
	i := strings.Index(string(b), name)
	if i < 0 {
		return 0
	}
	var v int64
	for _, c := range b[i+len(name):] {
		if c < '0' || c > '9' {
			break
		}
		v = v*10 + int64(c-'0')
	}
	return v
}
