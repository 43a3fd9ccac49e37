package ws

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"canistry/pkg/httperror"
	"canistry/pkg/registry"
)

// replayTimeout bounds one client's whole replay.
const replayTimeout = time.Minute

// client is one WebSocket connection. The hub appends to its queue; at most one writer
// goroutine per client runs at a time, started when there is something to write (messages, a
// ping, a close) and gone when the queue is empty. What the client sends is read by the hub's
// poller (poll_linux.go) when it arrives, or else by a reader goroutine (TLS, other systems),
// so an idle client costs no goroutine, no read buffer and no write buffer: the connection is
// kept as its net.Conn alone (gorilla's Conn, with its buffers, only performs the handshake).
type client struct {
	hub    *Hub
	nc     net.Conn
	filter filter

	in      frameReader     // what arrived of a frame not complete yet
	pongDue *time.Timer     // ends the connection when no pong came for PongWait
	raw     syscall.RawConn // the socket, for the poller
	pollID  uint64          // the poller's id of this connection; 0 when it has none

	mu        sync.Mutex
	out       pending // what the writer has to write
	writing   bool    // a writer goroutine is running
	replaying bool    // live messages are held (up to ReplayBuffer) until the replay is done
	gone      bool    // the connection is closed (end): nothing more is written

	deadline time.Time // the connection's write deadline (writer only)
}

// pending is the writer's work: messages, then a pong, a ping, the close.
type pending struct {
	queue  []*message
	seam   int64  // outcall events with id ≤ seam were replayed: skip them live
	pong   []byte // answer the latest ping with this payload
	ping   bool
	code   int // when non-zero, close with code and reason after the rest
	reason string
}

// allowedMethods is the Allow header of /ws.
var allowedMethods = []string{http.MethodGet, http.MethodHead, http.MethodOptions}

// ServeHTTP upgrades GET /ws, has the poller (or a reader goroutine) read the client and, for a
// replay, starts its writer.
// It returns at once, so that net/http releases the request's buffers.
//
// Before any upgrade the query is validated (parseRequest: 400 like the REST api). OPTIONS
// answers 204 with Allow and no CORS headers: browsers never preflight a WebSocket, whose
// origin is checked here instead. Other methods but GET and HEAD are 405 with Allow. A HEAD,
// or a GET that is not a WebSocket handshake, gets the same 400 (HEAD without its body):
// HEAD never upgrades. Then a browser's Origin is checked (checkOrigin): 403 in the one
// error shape, in our words, before the upgrader sees the request.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodOptions:
		w.Header().Set("Allow", strings.Join(allowedMethods, ", "))
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		httperror.MethodNotAllowed(w, r.Method, allowedMethods...)
		return
	}
	req, err := parseRequest(r.URL.RawQuery, h.cfg.Replay != nil && h.cfg.Bounds != nil)
	if err != nil {
		httperror.WriteStatus(w, http.StatusBadRequest, err) // 400 also for "replay is not available" (code unavailable)
		return
	}
	if r.Method == http.MethodHead || !websocket.IsWebSocketUpgrade(r) {
		httperror.Write(w, registry.Errorf(registry.EINVALID,
			"/ws is a WebSocket endpoint: connect with a WebSocket client (GET with Connection: Upgrade and Upgrade: websocket)"))
		return
	}
	if !h.checkOrigin(r) {
		httperror.WriteStatus(w, http.StatusForbidden, registry.Errorf(registry.EFORBIDDEN,
			"a page of origin %q may not open /ws here: only this server's own origin and those in WS_ALLOWED_ORIGINS may", r.Header.Get("Origin")))
		return
	}
	conn, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	c := &client{hub: h, nc: conn.NetConn(), filter: req.filter, replaying: req.replay, writing: req.replay}
	live, ok := h.add(c)
	if !ok {
		_ = conn.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutting down"), time.Now().Add(time.Second))
		_ = conn.Close()
		return
	}
	c.mu.Lock()
	if !c.gone { // a failed first write may have ended it already
		c.pongDue = time.AfterFunc(h.cfg.PongWait, c.end)
	}
	c.mu.Unlock()
	if req.replay {
		h.wg.Add(1)
		since := req.since
		if req.last > 0 {
			since = registry.LogCursor{ID: max(0, live-int64(req.last))}
		}
		go c.replayThenWrite(since, live)
	}
	if h.poll.add(c) != nil {
		go c.readLoop()
	}
}

// end closes the connection and removes the client from the hub, once.
func (c *client) end() {
	c.mu.Lock()
	gone, due := c.gone, c.pongDue
	c.gone, c.out.queue = true, nil
	c.mu.Unlock()
	if gone {
		return
	}
	if due != nil {
		due.Stop()
	}
	_ = c.nc.Close()
	c.hub.poll.forget(c)
	c.hub.remove(c)
}

// wakeLocked starts the writer if it is not running; c.mu is held.
func (c *client) wakeLocked() {
	if c.writing || c.gone {
		return
	}
	c.writing = true
	c.hub.wg.Add(1)
	go c.writeLoop()
}

// writeLoop writes what is queued, a due pong or ping, and the close, and exits when there is
// nothing left (or the connection failed).
func (c *client) writeLoop() {
	defer c.hub.wg.Done()
	for {
		c.mu.Lock()
		w := c.out
		c.out.queue, c.out.ping, c.out.pong = nil, false, nil
		if c.gone || (len(w.queue) == 0 && w.code == 0 && !w.ping && w.pong == nil) {
			c.writing = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		if !c.flush(&w) {
			c.mu.Lock()
			c.writing = false
			c.mu.Unlock()
			c.end()
			return
		}
	}
}

// flush writes the messages, then a pong, a ping or the close; false means the client is done.
func (c *client) flush(w *pending) bool {
	for _, m := range w.queue {
		if m.id != 0 && m.id <= w.seam {
			continue // delivered by the replay
		}
		if !c.write(m) {
			return false
		}
	}
	if w.pong != nil && !c.writeRaw(controlFrame(websocket.PongMessage, w.pong)) {
		return false
	}
	if w.code != 0 {
		_ = c.writeRaw(closeFrame(w.code, w.reason))
		return false
	}
	if w.ping {
		return c.writeRaw(controlFrame(websocket.PingMessage, nil))
	}
	return true
}

func (c *client) write(m *message) bool {
	if !c.writeRaw(m.frame) {
		return false
	}
	c.hub.sent.Add(1)
	return true
}

// writeRaw writes one whole frame. The write deadline is renewed (to now+WriteWait) only when
// less than half of WriteWait is left, so a write never blocks longer than WriteWait and a busy
// connection does not reprogram its timer for every message.
func (c *client) writeRaw(frame []byte) bool {
	nc := c.nc
	if now := time.Now(); c.deadline.Sub(now) < c.hub.cfg.WriteWait/2 {
		c.deadline = now.Add(c.hub.cfg.WriteWait)
		if nc.SetWriteDeadline(c.deadline) != nil {
			return false
		}
	}
	_, err := nc.Write(frame)
	return err == nil
}

// enqueue adds m to the queue, or drops the client when the queue is full: it is closed with
// 1008 and a reason, and nothing it failed to take is kept. It never blocks.
func (c *client) enqueue(m *message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.out.code != 0 || c.gone {
		return
	}
	limit := c.hub.cfg.QueueSize
	if c.replaying {
		limit = c.hub.cfg.ReplayBuffer
	}
	if len(c.out.queue) < limit {
		c.out.queue = append(c.out.queue, m)
		c.wakeLocked()
		return
	}
	c.out.queue, c.out.code = nil, websocket.ClosePolicyViolation
	c.out.reason = fmt.Sprintf("too slow: more than %d messages queued", limit)
	c.hub.dropped.Add(1)
	c.hub.logger.Info("websocket client dropped: too slow", "remote", c.nc.RemoteAddr().String(), "queued", limit)
	// A write blocked on this client's full socket gives up within a second.
	_ = c.nc.SetWriteDeadline(time.Now().Add(time.Second))
	c.wakeLocked()
}

// requestPing has the writer send a ping.
func (c *client) requestPing() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.out.ping = true
	c.wakeLocked()
}

// shut asks the writer to close the connection with code and reason after what is queued.
func (c *client) shut(code int, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.out.code == 0 {
		c.out.code, c.out.reason = code, reason
	}
	c.wakeLocked()
}

func (c *client) closing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.code != 0 || c.gone
}

// replayThenWrite is the first writer of a ?since= client: it replays, then carries on as the
// ordinary writer (the queue holds what arrived meanwhile).
func (c *client) replayThenWrite(since registry.LogCursor, live int64) {
	if err := c.replay(since, live); err != nil {
		c.hub.logger.Warn("websocket replay failed", "since", since.String(), "err", err)
		c.mu.Lock()
		if c.out.code == 0 {
			c.out.code, c.out.reason = websocket.CloseInternalServerErr, "replay failed; reconnect with since"
		}
		c.mu.Unlock()
	}
	c.writeLoop()
}

// replay writes the logged events after since up to live (the position the client was
// registered at: its queue holds everything after it), then marks the seam. So the client gets
// every event once, in id order: the replay (since, live], then the queue (live, …). When the
// client is ahead of this hub (a cursor from a notifier further along), the queue's events up
// to since are skipped instead.
//
// A cursor of another log (epoch) or beyond this log's head is answered with replay.reset and
// the replay starts at the log's beginning; one older than the stored history gets replay.gap
// and the replay starts at the oldest stored event.
func (c *client) replay(since registry.LogCursor, live int64) error {
	ctx, cancel := context.WithTimeout(context.Background(), replayTimeout)
	defer cancel()
	cfg := &c.hub.cfg
	b, err := cfg.Bounds(ctx)
	if err != nil {
		return fmt.Errorf("event log bounds: %w", err)
	}
	after := since.ID
	switch {
	case (since.Epoch != "" && since.Epoch != b.Epoch) || since.ID > b.Head:
		if !c.writeNotice(EventReplayReset, map[string]any{"since": since.String(), "epoch": b.Epoch, "head": b.Head,
			"message": fmt.Sprintf("cursor %s is not a position in this event log (epoch %s, head %d); replaying it from its beginning", since, b.Epoch, b.Head)}) {
			return nil
		}
		after = 0
	case since.ID+1 < b.Oldest:
		if !c.writeNotice(EventReplayGap, map[string]any{"since": since.ID, "oldest": b.Oldest, "epoch": b.Epoch,
			"message": fmt.Sprintf("events %d to %d are no longer stored", since.ID+1, b.Oldest-1)}) {
			return nil
		}
	}
	last := after
	for last < live && !c.closing() {
		evs, err := cfg.Replay(ctx, last, live, cfg.ReplayPage)
		if err != nil {
			return fmt.Errorf("replay after %d: %w", last, err)
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
	c.out.seam, c.replaying = max(after, last), false
	c.mu.Unlock()
	return nil
}

// writeNotice writes an event that is not in the log (replay.gap, replay.reset).
func (c *client) writeNotice(name string, data map[string]any) bool {
	e, err := registry.NewEvent(name, data, c.hub.cfg.Now())
	if err != nil {
		return false
	}
	m, err := newMessage(e)
	return err == nil && c.write(m)
}
