// Package ws is the WebSocket hub behind GET /ws: it fans every event out to the connected
// clients that want it, each through its own bounded queue and writer goroutine, so that one
// slow client is disconnected (with a close reason) instead of slowing anyone else.
//
// Messages are registry.Event as JSON: {"id","event","data","timestamp","cursor"} (plus
// "miner_id" and "notification_id" for outcall events). The hub is fed in event-log order
// (Deliver, from pkg/eventlog's tailer), so every client gets every event once, in strictly
// increasing id order. A client may ask for ?events=a,b, ?token=<id>, ?miner=<id>, and
// ?since=<cursor> (or a bare id) to replay what it missed before going live, with no gap and
// no duplicate at the seam, or ?last=N for the last N logged events (a page's first load); a cursor of another log (epoch) or beyond its end gets
// replay.reset, a position older than the stored history replay.gap, never silence. The hub
// does not know the database: the binary gives it Replay and Bounds functions.
package ws

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"canistry/pkg/httperror"
	"canistry/pkg/registry"
)

// EventReplayGap is the event a ?since= client receives first when the stored history no longer
// reaches back to its id: data {"since", "oldest", "message"}. The replay then starts at the
// oldest stored event.
const EventReplayGap = "replay.gap"

// EventReplayReset is the event a ?since= client receives first when its cursor is not of
// this log: another epoch (the database was recreated) or a position beyond the log's end.
// Data {"since", "epoch", "head", "message"}. The replay then starts at the log's beginning:
// the client should drop what it derived from the old log.
const EventReplayReset = "replay.reset"

// Config configures NewHub. Zero durations and sizes mean the defaults in brackets.
type Config struct {
	// Replay returns up to limit logged events with after < id ≤ upTo, in id order
	// (store.Events). Nil disables ?since= (such requests are refused).
	Replay func(ctx context.Context, after, upTo int64, limit int) ([]registry.Event, error)
	// Bounds returns the log's epoch, oldest stored id and head (store.EventLogBounds);
	// required with Replay.
	Bounds func(ctx context.Context) (registry.LogBounds, error)
	// Start is the log position the live stream starts after: the first Deliver carries ids
	// above it.
	Start int64
	// AllowedOrigins are the browser origins accepted besides the server's own host
	// (WS_ALLOWED_ORIGINS); "*" accepts any.
	AllowedOrigins []string
	// TrustedProxies are the TCP peers whose X-Forwarded-Host the origin check believes
	// (TRUSTED_PROXIES). nil means loopback only, where the api's proxy connects from; an
	// empty, non-nil list trusts no peer.
	TrustedProxies []netip.Prefix
	Logger         *slog.Logger
	Now            func() time.Time

	QueueSize    int           // messages queued per live client before it counts as too slow [256]
	ReplayBuffer int           // live messages held per client while its replay runs [4096]
	ReplayPage   int           // events per Replay call [500]
	PingInterval time.Duration // [25s]
	PongWait     time.Duration // a client that answers no ping for this long is closed [60s]
	WriteWait    time.Duration // deadline of each write [10s]
	ReadLimit    int64         // a client's data frame above this is refused with 1009, not 1008 (/ws takes no messages) [512]
}

func (c *Config) defaults() {
	set := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	setD := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	set(&c.QueueSize, 256)
	set(&c.ReplayBuffer, 4096)
	set(&c.ReplayPage, 500)
	setD(&c.PingInterval, 25*time.Second)
	setD(&c.PongWait, 60*time.Second)
	setD(&c.WriteWait, 10*time.Second)
	if c.ReadLimit <= 0 {
		c.ReadLimit = 512
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.TrustedProxies == nil {
		c.TrustedProxies = loopbackProxies
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Status is what GET /ws-status reports.
type Status struct {
	Clients          int64 `json:"clients"`
	ConnectionsTotal int64 `json:"connections_total"`
	MessagesSent     int64 `json:"messages_sent"`
	DroppedSlow      int64 `json:"dropped_slow"`
}

// Hub is the http.Handler of GET /ws. Publish feeds it; Close disconnects everyone.
type Hub struct {
	cfg      Config
	upgrader websocket.Upgrader
	logger   *slog.Logger
	poll     *poller // reads every client's socket; nil: a reader goroutine per client

	mu      sync.RWMutex
	clients map[*client]struct{}
	closed  bool
	wg      sync.WaitGroup // every connection (until end) and writer
	stop    chan struct{}  // closed by Close: stops the ping loop
	pinging chan struct{}  // closed when the ping loop has stopped

	// delivered is the id of the last logged event delivered live. It changes only under mu
	// held for reading by the single deliverer, and add reads it under mu held for writing:
	// a new client's queue gets exactly the events after the position it was registered at.
	delivered atomic.Int64

	connected atomic.Int64
	total     atomic.Int64
	sent      atomic.Int64
	dropped   atomic.Int64
}

// NewHub returns a hub with no clients.
func NewHub(cfg Config) *Hub {
	cfg.defaults()
	h := &Hub{cfg: cfg, logger: cfg.Logger.With("component", "ws"), clients: map[*client]struct{}{},
		stop: make(chan struct{}), pinging: make(chan struct{})}
	h.upgrader = websocket.Upgrader{
		HandshakeTimeout: 10 * time.Second,
		// Clients send nothing but control frames; small buffers keep a connection cheap
		// (gorilla's defaults are 4 KiB each). Events are written as prepared messages.
		ReadBufferSize:  256,
		WriteBufferSize: 512,
		WriteBufferPool: &sync.Pool{},
		// ServeHTTP checks the origin before the upgrade, answering in the one error shape.
		CheckOrigin: func(*http.Request) bool { return true },
		Error:       handshakeError,
	}
	h.delivered.Store(cfg.Start)
	p, err := newPoller() // nil without error where there is no epoll
	if err != nil {
		h.logger.Warn("epoll failed: one reader goroutine per client", "err", err)
	}
	h.poll = p
	go h.pingLoop()
	return h
}

// handshakeError answers a handshake the upgrader refused (what ServeHTTP has not checked
// itself: the WebSocket version and key headers) in the one error shape and our own words.
func handshakeError(w http.ResponseWriter, _ *http.Request, status int, _ error) {
	msg := "the WebSocket handshake failed"
	if status == http.StatusBadRequest {
		msg = "not a valid WebSocket handshake: it needs Sec-WebSocket-Version: 13 and a Sec-WebSocket-Key of 16 bytes in base64"
	}
	httperror.WriteStatus(w, status, registry.Errorf(registry.EINVALID, "%s", msg))
}

// pingLoop asks every client's writer for a ping each PingInterval: one timer for the hub
// instead of one per client.
func (h *Hub) pingLoop() {
	defer close(h.pinging)
	t := time.NewTicker(h.cfg.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
			h.mu.RLock()
			for c := range h.clients {
				c.requestPing()
			}
			h.mu.RUnlock()
		}
	}
}

// Status returns the hub's counters.
func (h *Hub) Status() Status {
	return Status{Clients: h.connected.Load(), ConnectionsTotal: h.total.Load(),
		MessagesSent: h.sent.Load(), DroppedSlow: h.dropped.Load()}
}

// Deliver sends logged events, in id order, to every client whose filters match. A logged
// event (id > 0) at or before the last one delivered is dropped, so nothing reaches a client
// twice or out of order; events with id 0 are not in the log and pass. One goroutine (the
// tailer) calls it. It never blocks on a client.
func (h *Hub) Deliver(evs []registry.Event) {
	msgs := make([]*message, 0, len(evs))
	last := h.delivered.Load()
	for _, e := range evs {
		if e.ID != 0 && e.ID <= last {
			continue
		}
		m, err := newMessage(e)
		if err != nil {
			h.logger.Error("encode event", "event", e.Event, "id", e.ID, "err", err)
			continue
		}
		if e.ID != 0 {
			last = e.ID
		}
		msgs = append(msgs, m)
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	for c := range h.clients {
		for _, m := range msgs {
			if c.filter.match(m) {
				c.enqueue(m)
			}
		}
	}
	h.delivered.Store(last)
}

// Publish delivers one event (Deliver).
func (h *Hub) Publish(e registry.Event) { h.Deliver([]registry.Event{e}) }

// Position is the id of the last logged event delivered live.
func (h *Hub) Position() int64 { return h.delivered.Load() }

// Close disconnects every client (close code 1001) and waits for their goroutines, at most
// until ctx ends. New connections are refused afterwards.
func (h *Hub) Close(ctx context.Context) error {
	h.mu.Lock()
	if !h.closed {
		close(h.stop)
	}
	h.closed = true
	for c := range h.clients {
		c.shut(websocket.CloseGoingAway, "server shutting down")
	}
	h.mu.Unlock()
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	<-h.pinging
	select {
	case <-done:
		h.poll.close()
		return nil
	case <-ctx.Done():
		h.mu.Lock()
		for c := range h.clients {
			_ = c.nc.Close()
		}
		h.mu.Unlock()
		h.poll.close()
		return errors.New("websocket clients still closing at the shutdown deadline")
	}
}

// add registers c and returns the live position it was registered at: its queue gets every
// logged event after it.
func (h *Hub) add(c *client) (int64, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return 0, false
	}
	h.clients[c] = struct{}{}
	h.wg.Add(1) // the connection, until client.end
	h.connected.Add(1)
	h.total.Add(1)
	return h.delivered.Load(), true
}

func (h *Hub) remove(c *client) {
	h.mu.Lock()
	delete(h.clients, c)
	h.mu.Unlock()
	h.connected.Add(-1)
	h.wg.Done()
}
