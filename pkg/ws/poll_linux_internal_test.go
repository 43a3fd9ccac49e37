//go:build linux

package ws

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"canistry/pkg/lifecycle/runtest"
	"canistry/pkg/registry"
)

// TestPoller_EpollFails injects epoll's failure: the hub's epoll descriptor is replaced by a
// pipe's (dup3 over its number). The wait in progress still holds its epoll instance, so a
// client's ping wakes it; then re-arming that client fails (it is ended), the next wait fails
// (every other watched client is ended: nothing would read them), and the poller stops. The
// hub goes on: a client that connects afterwards gets a reader goroutine, its pings answered
// and events delivered.
func TestPoller_EpollFails(t *testing.T) {
	h := NewHub(Config{Logger: slog.New(slog.DiscardHandler)})
	if h.poll == nil {
		t.Fatal("no poller: epoll failed at start")
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), runtest.Patience)
		defer cancel()
		if err := h.Close(ctx); err != nil {
			t.Errorf("close hub: %v", err)
		}
		srv.Close()
	})
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
	dial := func() *websocket.Conn {
		c, _, err := websocket.DefaultDialer.Dial(url, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	watched := func() int {
		h.poll.mu.Lock()
		defer h.poll.mu.Unlock()
		return len(h.poll.conns)
	}
	a, b := dial(), dial()
	runtest.WaitFor(t, "both clients watched by epoll", func() bool { return watched() == 2 })

	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Dup3(p[0], h.poll.epfd, syscall.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	_ = syscall.Close(p[0])
	_ = syscall.Close(p[1])

	if err := a.WriteControl(websocket.PingMessage, []byte("wake"), time.Now().Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*websocket.Conn{"a (woke the wait)": a, "b (idle)": b} {
		_ = c.SetReadDeadline(time.Now().Add(runtest.Patience))
		if _, _, err := c.ReadMessage(); err == nil || isTimeout(err) {
			t.Errorf("client %s: read %v, want the connection ended", name, err)
		}
	}
	select {
	case <-h.poll.done:
	case <-time.After(runtest.Patience):
		t.Fatal("the poller still runs after epoll failed")
	}

	c := dial()
	runtest.WaitFor(t, "the new client registered", func() bool { return h.Status().Clients == 1 })
	pong := make(chan string, 1)
	c.SetPongHandler(func(s string) error { pong <- s; return nil })
	msgs := make(chan string, 1)
	go func() { // gorilla runs the pong handler inside reads
		defer close(msgs)
		for {
			_, m, err := c.ReadMessage()
			if err != nil {
				return
			}
			msgs <- string(m)
		}
	}()
	if err := c.WriteControl(websocket.PingMessage, []byte("after"), time.Now().Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-pong:
		if s != "after" {
			t.Errorf("pong %q, want after", s)
		}
	case <-time.After(runtest.Patience):
		t.Fatal("the new client's ping was not answered")
	}
	h.Deliver([]registry.Event{{ID: 1, Event: "solution_found", MinerID: "m", Data: []byte(`{}`)}})
	select {
	case m := <-msgs:
		if !strings.Contains(m, "solution_found") {
			t.Errorf("new client got %q, want the event", m)
		}
	case <-time.After(runtest.Patience):
		t.Fatal("the new client got no event")
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(interface{ Timeout() bool })
	return ok && ne.Timeout()
}
