package bus_test

import (
	"fmt"
	"net"
	"testing"
	"time"

	"canistry/pkg/bus"
	"canistry/pkg/registry"
)

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// waitFor polls cond until it holds or the test's deadline (10 s) passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		select {
		case <-t.Context().Done():
			t.Fatal(t.Context().Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("no message within 10s")
	}
	var zero T
	return zero
}

func TestPublishSubscribe(t *testing.T) {
	srv, err := bus.Serve(bus.ServerConfig{URL: "nats://127.0.0.1:0", Token: "secret-token"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()

	t.Run("ErrBadToken", func(t *testing.T) {
		c, err := bus.Connect(bus.ConnectConfig{URL: srv.ClientURL(), Token: "wrong"})
		if err != nil {
			return // refused at once: fine
		}
		defer c.Close()
		if err := c.Flush(t.Context()); err == nil && c.Connected() {
			t.Fatal("a wrong token must not be accepted")
		}
	})

	c, err := bus.Connect(bus.ConnectConfig{URL: srv.ClientURL(), Token: "secret-token", Name: "t"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	refreshes := make(chan bus.RefreshRequest, 4)
	if _, err := bus.Subscribe(c, bus.SubjectRefresh, bus.QueueRefresh, func(_ string, r bus.RefreshRequest) { refreshes <- r }); err != nil {
		t.Fatal(err)
	}
	events := make(chan registry.Event, 4)
	subjects := make(chan string, 4)
	if _, err := bus.Subscribe(c, bus.SubjectEventsAll, "", func(s string, e registry.Event) { subjects <- s; events <- e }); err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := c.RequestRefresh("ryjl3-tyaaa-aaaaa-aaaba-cai"); err != nil {
		t.Fatal(err)
	}
	if r := recv(t, refreshes); r.CanisterID != "ryjl3-tyaaa-aaaaa-aaaba-cai" {
		t.Errorf("refresh = %+v", r)
	}
	if err := c.RequestRefresh(""); err != nil {
		t.Fatal(err)
	}
	if r := recv(t, refreshes); r.CanisterID != "" {
		t.Errorf("refresh all = %+v", r)
	}
	ev, err := registry.NewEvent(registry.EventModuleHashChanged, map[string]string{"canister_id": "x"}, time.UnixMilli(1700000000000))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.PublishEvent(ev); err != nil {
		t.Fatal(err)
	}
	if s := recv(t, subjects); s != "canistry.events.module_hash.changed" {
		t.Errorf("subject = %q", s)
	}
	if got := recv(t, events); got.Event != ev.Event || got.Timestamp != ev.Timestamp || string(got.Data) != `{"canister_id":"x"}` {
		t.Errorf("event = %+v", got)
	}
}

// The api hosts NATS; when it restarts, poller and notifier must reconnect by themselves and
// receive what is published after the restart.
func TestReconnectAfterServerRestart(t *testing.T) {
	url := fmt.Sprintf("nats://127.0.0.1:%d", freePort(t))
	srv, err := bus.Serve(bus.ServerConfig{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	// Two clients, like poller and notifier.
	got := make(chan bus.RefreshRequest, 8)
	var clients []*bus.Conn
	for _, name := range []string{"poller", "notifier"} {
		c, err := bus.Connect(bus.ConnectConfig{URL: url, Name: name})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		clients = append(clients, c)
	}
	if _, err := bus.Subscribe(clients[0], bus.SubjectRefresh, bus.QueueRefresh, func(_ string, r bus.RefreshRequest) { got <- r }); err != nil {
		t.Fatal(err)
	}
	if err := clients[0].Flush(t.Context()); err != nil {
		t.Fatal(err)
	}

	srv.Shutdown()
	waitFor(t, "clients to notice the outage", func() bool { return !clients[0].Connected() && !clients[1].Connected() })

	srv, err = bus.Serve(bus.ServerConfig{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	waitFor(t, "clients to reconnect", func() bool { return clients[0].Connected() && clients[1].Connected() })
	if err := clients[0].Flush(t.Context()); err != nil { // subscription restored on the new server
		t.Fatal(err)
	}
	if err := clients[1].RequestRefresh("ryjl3-tyaaa-aaaaa-aaaba-cai"); err != nil {
		t.Fatal(err)
	}
	if r := recv(t, got); r.CanisterID != "ryjl3-tyaaa-aaaaa-aaaba-cai" {
		t.Fatalf("after restart got %+v", r)
	}
}

// A client can start before the server (poller started before the api) and connects when it
// comes up.
func TestConnectBeforeServer(t *testing.T) {
	url := fmt.Sprintf("nats://127.0.0.1:%d", freePort(t))
	c, err := bus.Connect(bus.ConnectConfig{URL: url})
	if err != nil {
		t.Fatalf("connect with no server must not fail: %v", err)
	}
	defer c.Close()
	if c.Connected() {
		t.Fatal("connected to nothing")
	}
	srv, err := bus.Serve(bus.ServerConfig{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	waitFor(t, "late connect", c.Connected)
}

func TestServe_ErrPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = bus.Serve(bus.ServerConfig{URL: "nats://" + ln.Addr().String(), ReadyTimeout: 2 * time.Second})
	if err == nil {
		t.Fatal("want an error when the port is taken")
	}
}
