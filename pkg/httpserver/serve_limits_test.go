package httpserver_test

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"canistry/pkg/httpserver"
)

// shortLimits are DefaultLimits with every timeout short, so that the tests see them act.
func shortLimits() httpserver.Limits {
	l := httpserver.DefaultLimits()
	l.ReadHeaderTimeout = 200 * time.Millisecond
	l.ReadTimeout = 500 * time.Millisecond
	l.WriteTimeout = 300 * time.Millisecond
	l.IdleTimeout = 200 * time.Millisecond
	return l
}

// TestServe_Limits checks that a client cannot hold a connection: one that never reads a large
// reply, one that sends half a header, one that sits idle after a reply are all closed; a
// hijacked connection (WebSocket) is not bound by them.
func TestServe_Limits(t *testing.T) {
	writeErr := make(chan error, 1)
	readErr := make(chan error, 1)
	hijacked, release := make(chan struct{}), make(chan struct{})
	var releaseOnce sync.Once
	t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) }) // never leave the handler waiting
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/body": // a body that never comes: the read fails when ReadTimeout passes
			_, err := io.ReadAll(r.Body)
			readErr <- err
		case "/large":
			chunk := []byte(strings.Repeat("x", 64<<10))
			for range 1 << 10 { // 64 MiB, far more than the socket buffers hold
				if _, err := w.Write(chunk); err != nil {
					writeErr <- err
					return
				}
			}
			writeErr <- nil
		case "/hijack":
			c, brw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			close(hijacked)
			<-release // until the test has seen the server's longest deadline pass
			_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\n\r\nstill here")
			_ = brw.Flush()
		default:
			_, _ = io.WriteString(w, "ok")
		}
	})
	srv := startServer(t, h, nil, httpserver.WithLimits(shortLimits()))

	t.Run("SlowReader", func(t *testing.T) {
		c := dialRaw(t, srv, nil)
		_, _ = io.WriteString(c, "GET /large HTTP/1.1\r\nHost: x\r\n\r\n")
		select {
		case err := <-writeErr:
			if err == nil {
				t.Fatal("64 MiB written to a client that reads nothing")
			}
		case <-time.After(patience):
			t.Fatal("the server still writes to a client that reads nothing")
		}
		n, err := io.Copy(io.Discard, c)
		if isTimeout(err) {
			t.Errorf("connection still open after %d bytes", n)
		}
	})
	t.Run("HalfHeader", func(t *testing.T) {
		c := dialRaw(t, srv, nil)
		_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n")
		if _, err := io.ReadAll(c); isTimeout(err) {
			t.Error("connection with half a header still open")
		}
	})
	t.Run("Idle", func(t *testing.T) {
		c := dialRaw(t, srv, nil)
		_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		br := bufio.NewReader(c)
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		if _, err := io.ReadAll(br); isTimeout(err) {
			t.Error("idle keep-alive connection still open")
		}
	})
	t.Run("HijackedNotBound", func(t *testing.T) {
		c := dialRaw(t, srv, nil)
		_, _ = io.WriteString(c, "GET /hijack HTTP/1.1\r\nHost: x\r\n\r\n")
		<-hijacked
		// A witness request started after the hijack waits for a body that never comes; its
		// read fails only once ReadTimeout, the longest of the server's deadlines, has passed.
		witness := dialRaw(t, srv, nil)
		_, _ = io.WriteString(witness, "POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n")
		select {
		case err := <-readErr:
			if err == nil {
				t.Fatal("a body that never came was read")
			}
		case <-time.After(patience):
			t.Fatal("the witness request was never timed out")
		}
		releaseOnce.Do(func() { close(release) })
		got, err := io.ReadAll(c)
		if !strings.HasSuffix(string(got), "still here") {
			t.Errorf("hijacked connection got %q (%v)", got, err)
		}
	})
}
