package bus_test

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"

	"canistry/pkg/bus"
	"canistry/pkg/registry"
)

// node is one member of a test cluster: its client and route addresses.
type node struct {
	client, route string
	srv           *bus.Server
}

func (n *node) start(t *testing.T, token string, routes []string) {
	t.Helper()
	srv, err := bus.Serve(bus.ServerConfig{URL: "nats://" + n.client, Token: token,
		Cluster: bus.ClusterConfig{Name: "canistry-test", Listen: n.route, Routes: routes}})
	if err != nil {
		t.Fatal(err)
	}
	n.srv = srv
	t.Cleanup(srv.Shutdown)
}

func newCluster(t *testing.T, token string, size int) []*node {
	t.Helper()
	nodes := make([]*node, size)
	var routes []string
	for i := range nodes {
		nodes[i] = &node{client: net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t))),
			route: net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))}
		routes = append(routes, nodes[i].route)
	}
	for _, n := range nodes {
		n.start(t, token, routes) // every node gets the same list, its own address included
	}
	for _, n := range nodes {
		waitFor(t, "routes to every other node", func() bool { return n.srv.NumRoutes() >= size-1 })
	}
	return nodes
}

func connect(t *testing.T, addr, token, name string) *bus.Conn {
	t.Helper()
	c, err := bus.Connect(bus.ConnectConfig{URL: "nats://" + addr, Token: token, Name: name})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	waitFor(t, name+" connected", c.Connected)
	return c
}

// TestCluster: three embedded servers form one cluster. An event published on one node reaches
// subscribers on every node; refresh requests (queue group) are served once across pollers on
// different nodes; a node that dies and comes back rejoins, and the others keep routing
// meanwhile. A node without the token cannot join.
func TestCluster(t *testing.T) {
	const token = "cluster-token-0123456789"
	nodes := newCluster(t, token, 3)
	pub := connect(t, nodes[0].client, token, "api")

	// Events reach notifiers on every node.
	type got struct {
		mu     sync.Mutex
		events map[string]int
	}
	seen := make([]*got, 3)
	for i, n := range nodes {
		g := &got{events: map[string]int{}}
		seen[i] = g
		c := connect(t, n.client, token, fmt.Sprint("notifier", i))
		if _, err := bus.Subscribe(c, bus.SubjectEventsAll, "", func(_ string, e registry.Event) {
			g.mu.Lock()
			g.events[e.Event]++
			g.mu.Unlock()
		}); err != nil {
			t.Fatal(err)
		}
		if err := c.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	count := func(i int, name string) int {
		seen[i].mu.Lock()
		defer seen[i].mu.Unlock()
		return seen[i].events[name]
	}
	// Subscription interest propagates over the routes asynchronously: publish until all see one.
	waitFor(t, "an event on every node", func() bool {
		_ = pub.PublishEvent(registry.Event{Event: "probe"})
		return count(0, "probe") > 0 && count(1, "probe") > 0 && count(2, "probe") > 0
	})
	if err := pub.PublishEvent(registry.Event{Event: "one"}); err != nil {
		t.Fatal(err)
	}
	for i := range nodes {
		waitFor(t, fmt.Sprintf("event on node %d", i), func() bool { return count(i, "one") == 1 })
	}

	// Refresh requests: one queue group across pollers on nodes 1 and 2, each request served once.
	var mu sync.Mutex
	served := map[string]int{}
	for i := 1; i <= 2; i++ {
		c := connect(t, nodes[i].client, token, fmt.Sprint("poller", i))
		if _, err := bus.Subscribe(c, bus.SubjectRefresh, bus.QueueRefresh, func(_ string, r bus.RefreshRequest) {
			mu.Lock()
			served[r.CanisterID]++
			mu.Unlock()
		}); err != nil {
			t.Fatal(err)
		}
		if err := c.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "queue interest on node 0", func() bool {
		_ = pub.RequestRefresh("probe")
		mu.Lock()
		defer mu.Unlock()
		return served["probe"] > 0
	})
	const requests = 50
	for i := range requests {
		if err := pub.RequestRefresh(registry.CanisterID(fmt.Sprint("c", i))); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "every refresh request served", func() bool {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for k, v := range served {
			if strings.HasPrefix(k, "c") {
				n += v
			}
		}
		return n >= requests
	})
	mu.Lock()
	for k, v := range served {
		if strings.HasPrefix(k, "c") && v != 1 {
			t.Errorf("refresh %s served %d times, want once", k, v)
		}
	}
	mu.Unlock()

	// Node 1 dies: nodes 0 and 2 keep routing; it comes back and rejoins.
	nodes[1].srv.Shutdown()
	if err := pub.PublishEvent(registry.Event{Event: "two"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "event on node 2 while node 1 is down", func() bool { return count(2, "two") == 1 })
	var routes []string
	for _, n := range nodes {
		routes = append(routes, n.route)
	}
	nodes[1].start(t, token, routes)
	waitFor(t, "node 1 rejoined", func() bool { return nodes[1].srv.NumRoutes() >= 2 })
	waitFor(t, "node 1's notifier reconnected and hears node 0", func() bool {
		_ = pub.PublishEvent(registry.Event{Event: "three"})
		return count(1, "three") > 0
	})

	// A node with another token is refused by the cluster's routes.
	stranger := &node{client: net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t))),
		route: net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))}
	stranger.start(t, "not-the-cluster-token-xyz", routes)
	c := connect(t, stranger.client, "not-the-cluster-token-xyz", "stranger")
	strangerSeen := make(chan registry.Event, 16)
	if _, err := bus.Subscribe(c, bus.SubjectEventsAll, "", func(_ string, e registry.Event) { strangerSeen <- e }); err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := pub.PublishEvent(registry.Event{Event: "secret"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the members heard it", func() bool { return count(2, "secret") == 1 })
	// A route is counted while its handshake is in flight, before the token is checked and the
	// route refused (nats-server keeps retrying the configured routes), so the count is waited
	// for; what must hold throughout is that nothing published reaches the stranger (below).
	waitFor(t, "the stranger's routes refused", func() bool { return stranger.srv.NumRoutes() == 0 })
	select {
	case e := <-strangerSeen:
		t.Errorf("a node with the wrong token received %+v", e)
	default:
	}
}

// TestCluster_BadConfig: malformed cluster addresses are refused with a clear error.
func TestCluster_BadConfig(t *testing.T) {
	for _, tc := range []struct {
		name   string
		c      bus.ClusterConfig
		substr string
	}{
		{"NoPort", bus.ClusterConfig{Listen: "127.0.0.1"}, "cluster listen address"},
		{"BadPort", bus.ClusterConfig{Listen: "127.0.0.1:99999"}, "port must be 1-65535"},
		{"BadRoute", bus.ClusterConfig{Listen: "127.0.0.1:6222", Routes: []string{"nohost"}}, "cluster route"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := bus.Serve(bus.ServerConfig{URL: fmt.Sprintf("nats://127.0.0.1:%d", freePort(t)), Cluster: tc.c})
			if err == nil || !strings.Contains(err.Error(), tc.substr) {
				t.Errorf("got %v, want an error containing %q", err, tc.substr)
			}
		})
	}
}
