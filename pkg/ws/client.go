package ws

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"canistry/pkg/registry"
)

// replayTimeout bounds one client's whole replay.
const replayTimeout = time.Minute

// client is one WebSocket connection. The hub appends to its queue; its writer goroutine is the
// only one that writes messages to the connection; the handler goroutine reads (control frames).
type client struct {
	hub    *Hub
	conn   *websocket.Conn
	filter filter
	wake   chan struct{} // capacity 1: "the queue or the close state changed"
	gone   chan struct{} // closed when the reader stops

	mu        sync.Mutex
	queue     []*message
	replaying bool  // live messages are held (up to ReplayBuffer) until the replay is done
	seam      int64 // outcall events with id ≤ seam were replayed: skip them live
	code      int   // when non-zero, close with code and reason after what is queued
	reason    string
}

// ServeHTTP upgrades GET /ws and serves the client until it or the hub goes away.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, err := parseRequest(r.URL.Query(), h.cfg.Replay != nil)
	if err != nil {
		writeError(w, http.StatusBadRequest, registry.ErrorCode(err), registry.ErrorMessage(err))
		return
	}
	conn, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	c := &client{hub: h, conn: conn, filter: req.filter, replaying: req.replay,
		wake: make(chan struct{}, 1), gone: make(chan struct{})}
	if !h.add(c) {
		_ = conn.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutting down"), time.Now().Add(time.Second))
		_ = conn.Close()
		return
	}
	go c.writeLoop(req)
	c.readLoop()
}

// readLoop reads until the connection fails: it processes pongs (which extend the read
// deadline) and close frames, and discards anything else the client sends.
func (c *client) readLoop() {
	defer close(c.gone)
	cfg := &c.hub.cfg
	c.conn.SetReadLimit(cfg.ReadLimit)
	_ = c.conn.SetReadDeadline(time.Now().Add(cfg.PongWait))
	c.conn.SetPongHandler(func(string) error { return c.conn.SetReadDeadline(time.Now().Add(cfg.PongWait)) })
	for {
		if _, _, err := c.conn.NextReader(); err != nil {
			return
		}
	}
}

// writeLoop replays (when asked), then writes queued messages and pings until the client goes,
// is closed, or a write fails.
func (c *client) writeLoop(req request) {
	defer c.finish()
	if req.replay {
		if err := c.replay(req.since); err != nil {
			c.hub.logger.Warn("websocket replay failed", "since", req.since, "err", err)
			c.shut(websocket.CloseInternalServerErr, "replay failed; reconnect with since")
		}
	}
	ping := time.NewTicker(c.hub.cfg.PingInterval)
	defer ping.Stop()
	for {
		select {
		case <-c.wake:
			if !c.flush() {
				return
			}
		case <-ping.C:
			if c.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.hub.cfg.WriteWait)) != nil {
				return
			}
		case <-c.gone:
			return
		}
	}
}

// finish closes the connection, waits for the reader and leaves the hub.
func (c *client) finish() {
	_ = c.conn.Close()
	<-c.gone
	c.hub.remove(c)
}

// flush writes everything queued; false means the client is done (closed or failed).
func (c *client) flush() bool {
	c.mu.Lock()
	batch, seam, code, reason := c.queue, c.seam, c.code, c.reason
	c.queue = nil
	c.mu.Unlock()
	for _, m := range batch {
		if m.id != 0 && m.id <= seam {
			continue // delivered by the replay
		}
		if !c.write(m) {
			return false
		}
	}
	if code != 0 {
		_ = c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
		return false
	}
	return true
}

func (c *client) write(m *message) bool {
	_ = c.conn.SetWriteDeadline(time.Now().Add(c.hub.cfg.WriteWait))
	if c.conn.WritePreparedMessage(m.pm) != nil {
		return false
	}
	c.hub.sent.Add(1)
	return true
}

func (c *client) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// enqueue adds m to the queue, or drops the client when the queue is full: it is closed with
// 1008 and a reason, and nothing it failed to take is kept. It never blocks.
func (c *client) enqueue(m *message) {
	c.mu.Lock()
	if c.code != 0 {
		c.mu.Unlock()
		return
	}
	limit := c.hub.cfg.QueueSize
	if c.replaying {
		limit = c.hub.cfg.ReplayBuffer
	}
	if len(c.queue) >= limit {
		c.queue, c.code = nil, websocket.ClosePolicyViolation
		c.reason = fmt.Sprintf("too slow: more than %d messages queued", limit)
		c.mu.Unlock()
		c.hub.dropped.Add(1)
		c.hub.logger.Info("websocket client dropped: too slow", "remote", c.conn.RemoteAddr().String(), "queued", limit)
		// A write blocked on this client's full socket gives up within a second.
		_ = c.conn.NetConn().SetWriteDeadline(time.Now().Add(time.Second))
		c.signal()
		return
	}
	c.queue = append(c.queue, m)
	c.mu.Unlock()
	c.signal()
}

// shut asks the writer to close the connection with code and reason after what is queued.
func (c *client) shut(code int, reason string) {
	c.mu.Lock()
	if c.code == 0 {
		c.code, c.reason = code, reason
	}
	c.mu.Unlock()
	c.signal()
}

func (c *client) closing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.code != 0
}

// replay writes the stored events after since, then marks the seam: live events that arrived
// meanwhile are in the queue, and those already replayed (id ≤ seam) are skipped when it is
// flushed. Because the client was registered before the first Replay call, every event is
// either in the stored history that Replay reads or in the queue: no gap. Registry events
// (id 0) are live only.
func (c *client) replay(since int64) error {
	ctx, cancel := context.WithTimeout(context.Background(), replayTimeout)
	defer cancel()
	go func() {
		select {
		case <-c.gone:
			cancel()
		case <-ctx.Done():
		}
	}()
	cfg := &c.hub.cfg
	last := since
	if cfg.Oldest != nil {
		oldest, err := cfg.Oldest(ctx)
		if err != nil {
			return fmt.Errorf("oldest event id: %w", err)
		}
		if since+1 < oldest && !c.writeGap(since, oldest) {
			return nil
		}
	}
	for first := true; !c.closing(); first = false {
		evs, err := cfg.Replay(ctx, last, cfg.ReplayPage)
		if err != nil {
			return fmt.Errorf("replay after %d: %w", last, err)
		}
		if first && cfg.Oldest == nil && len(evs) > 0 && evs[0].ID > since+1 && !c.writeGap(since, evs[0].ID) {
			return nil
		}
		for _, e := range evs {
			last = e.ID
			m, err := newMessage(e)
			if err != nil {
				return fmt.Errorf("encode event %d: %w", e.ID, err)
			}
			if c.filter.match(m) && !c.write(m) {
				return nil
			}
		}
		if len(evs) < cfg.ReplayPage {
			break
		}
	}
	c.mu.Lock()
	c.seam, c.replaying = last, false
	c.mu.Unlock()
	c.signal()
	return nil
}

// writeGap tells the client that events since+1 … oldest-1 are no longer stored.
func (c *client) writeGap(since, oldest int64) bool {
	e, err := registry.NewEvent(EventReplayGap, map[string]any{
		"since": since, "oldest": oldest,
		"message": fmt.Sprintf("events %d to %d are no longer stored", since+1, oldest-1),
	}, c.hub.cfg.Now())
	if err != nil {
		return false
	}
	m, err := newMessage(e)
	return err == nil && c.write(m)
}
