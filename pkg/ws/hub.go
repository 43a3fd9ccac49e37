// Package ws is the WebSocket hub behind GET /ws: it fans every event out to the connected
// clients that want it, each through its own bounded queue and writer goroutine, so that one
// slow client is disconnected (with a close reason) instead of slowing anyone else.
//
// Messages are registry.Event as JSON: {"id","event","data","timestamp"} (plus "miner_id" for
// outcall events). A client may ask for ?events=a,b, ?token=<id>, ?miner=<id>, and
// ?since=<id> to replay the outcall events it missed before going live, with no gap and no
// duplicate at the seam. The hub does not know the database: the binary gives it Replay and
// Oldest functions.
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
// reaches back to its id: data {"since", "oldest", "message"}.
const EventReplayGap = "replay.gap"

// Config configures NewHub. Zero durations and sizes mean the defaults in brackets.
type Config struct {
	// Replay returns up to limit stored events with id > sinceID, in id order. Nil disables
	// ?since= (such requests are refused).
	Replay func(ctx context.Context, sinceID int64, limit int) ([]registry.Event, error)
	// Oldest returns the smallest replayable id (or the next id when none is stored). Optional:
	// without it a gap is detected only when the first replayed id is not since+1.
	Oldest func(ctx context.Context) (int64, error)
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
	ReadLimit    int64         // largest message accepted from a client [512]
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

	mu      sync.RWMutex
	clients map[*client]struct{}
	closed  bool
	wg      sync.WaitGroup // readers and writers of every client
	stop    chan struct{}  // closed by Close: stops the ping loop
	pinging chan struct{}  // closed when the ping loop has stopped

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
		CheckOrigin:     h.checkOrigin,
		Error: func(w http.ResponseWriter, _ *http.Request, status int, reason error) {
			code := registry.EINVALID
			if status == http.StatusForbidden {
				code = registry.EFORBIDDEN
			}
			writeError(w, status, code, reason.Error())
		},
	}
	go h.pingLoop()
	return h
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

// Publish sends e to every client whose filters match. It never blocks on a client.
func (h *Hub) Publish(e registry.Event) {
	m, err := newMessage(e)
	if err != nil {
		h.logger.Error("encode event", "event", e.Event, "err", err)
		return
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	for c := range h.clients {
		if c.filter.match(m) {
			c.enqueue(m)
		}
	}
}

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
		return nil
	case <-ctx.Done():
		h.mu.Lock()
		for c := range h.clients {
			_ = c.conn.Close()
		}
		h.mu.Unlock()
		return errors.New("websocket clients still closing at the shutdown deadline")
	}
}

func (h *Hub) add(c *client) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.clients[c] = struct{}{}
	h.wg.Add(1) // the reader
	h.connected.Add(1)
	h.total.Add(1)
	return true
}

func (h *Hub) remove(c *client) {
	h.mu.Lock()
	delete(h.clients, c)
	h.mu.Unlock()
	h.connected.Add(-1)
	h.wg.Done()
}

// writeError answers a request that did not become a WebSocket in the one error shape
// (httperror). status is the map's for code, except 405 and gorilla's handshake statuses.
func writeError(w http.ResponseWriter, status int, code, message string) {
	httperror.WriteStatus(w, status, registry.Errorf(code, "%s", message))
}
