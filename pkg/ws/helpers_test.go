package ws_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"canistry/pkg/lifecycle/runtest"
	"canistry/pkg/registry"
	"canistry/pkg/ws"
)

// patience is how long a test waits for something that should happen promptly; it is a
// safety net against hangs, never an assertion about speed.
const patience = runtest.Patience

func startHub(t *testing.T, cfg ws.Config) (*ws.Hub, *httptest.Server) {
	t.Helper()
	h := ws.NewHub(cfg)
	srv := httptest.NewServer(h)
	t.Cleanup(func() { closeHub(t, h); srv.Close() })
	return h, srv
}

func closeHub(t *testing.T, h *ws.Hub) {
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := h.Close(ctx); err != nil {
		t.Errorf("close hub: %v", err)
	}
}

func wsURL(srv *httptest.Server, query string) string {
	u := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
	if query != "" {
		u += "?" + query
	}
	return u
}

func dial(t *testing.T, srv *httptest.Server, query string, header http.Header) *websocket.Conn {
	t.Helper()
	c, resp, err := websocket.DefaultDialer.DialContext(t.Context(), wsURL(srv, query), header)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (status %d)", query, err, status)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// waitFor polls cond until it holds or patience runs out.
var waitFor = runtest.WaitFor

func waitClients(t *testing.T, h *ws.Hub, n int64) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d clients", n), func() bool { return h.Status().Clients == n })
}

func read(t *testing.T, c *websocket.Conn) registry.Event {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(patience))
	var e registry.Event
	if err := c.ReadJSON(&e); err != nil {
		t.Fatalf("read event: %v", err)
	}
	return e
}

func event(id int64, name string, data string) registry.Event {
	return registry.Event{ID: id, Event: name, Data: json.RawMessage(data), Timestamp: 1_700_000_000_000 + id}
}

// eventLog is an in-memory event history that behaves like the event log: ids are assigned in
// commit order, and an event is delivered to the hub after it is committed.
type eventLog struct {
	mu     sync.Mutex
	events []registry.Event
	last   int64 // the last id assigned
	calls  int
	// hook runs once, in Replay call number hookCall (1-based), before its snapshot when
	// hookBefore is set, else after it.
	hook       func()
	hookCall   int
	hookBefore bool
}

func (l *eventLog) commit(hub *ws.Hub, name, data string) registry.Event {
	l.mu.Lock()
	l.last++
	e := event(l.last, name, data)
	l.events = append(l.events, e)
	l.mu.Unlock()
	hub.Publish(e)
	return e
}

// epoch is the test log's epoch.
const epoch = "9f2c4a1be07d3c55"

// bounds is Config.Bounds for the log: the oldest stored id (last+1 when none) and the head.
func (l *eventLog) bounds(context.Context) (registry.LogBounds, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := registry.LogBounds{Epoch: epoch, Oldest: l.last + 1, Head: l.last}
	if len(l.events) > 0 {
		b.Oldest = l.events[0].ID
	}
	return b, nil
}

// config is a hub configuration that replays from l.
func (l *eventLog) config() ws.Config { return ws.Config{Replay: l.replay, Bounds: l.bounds} }

func (l *eventLog) replay(_ context.Context, since, upTo int64, limit int) ([]registry.Event, error) {
	l.mu.Lock()
	l.calls++
	hook := l.hook != nil && l.calls == l.hookCall
	l.mu.Unlock()
	if hook && l.hookBefore {
		l.hook()
	}
	l.mu.Lock()
	var out []registry.Event
	for _, e := range l.events {
		if e.ID > since && (upTo <= 0 || e.ID <= upTo) && len(out) < limit {
			out = append(out, e)
		}
	}
	l.mu.Unlock()
	if hook && !l.hookBefore {
		l.hook()
	}
	return out, nil
}

func httptestServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}
