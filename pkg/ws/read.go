package ws

import (
	"errors"

	"github.com/gorilla/websocket"
)

// readLoop is the reader goroutine of a connection the poller does not watch: it reads until
// the connection fails or the client is done.
func (c *client) readLoop() {
	buf := make([]byte, 512)
	for {
		n, err := c.nc.Read(buf)
		if n > 0 && !c.received(buf[:n]) {
			return
		}
		if err != nil {
			c.end()
			return
		}
	}
}

// received handles bytes the client sent; false means it is done and nothing more is read.
// Pongs extend the pong deadline; pings are answered by the writer; a close frame is answered
// (echoed) by the writer, which then closes the connection. A data message (text or binary) is
// a protocol violation: /ws only sends, so the client is closed with 1008 and a reason rather
// than ignored (1009 when it exceeds ReadLimit), and what it sends until then is skipped. A
// malformed frame closes it with 1002.
func (c *client) received(b []byte) bool {
	more, err := c.in.feed(b, c.frame)
	var pe *protocolError
	if errors.As(err, &pe) {
		c.shut(pe.code, pe.reason)
		return false
	}
	return more
}

// frame handles one frame from the client (received).
func (c *client) frame(f inFrame) (bool, error) {
	switch f.opcode {
	case websocket.PingMessage:
		c.mu.Lock()
		defer c.mu.Unlock()
		c.out.pong = append(make([]byte, 0, len(f.payload)), f.payload...)
		c.wakeLocked()
	case websocket.PongMessage:
		if c.pongDue != nil { // nil only when the connection ended before it was watched
			c.pongDue.Reset(c.hub.cfg.PongWait)
		}
	case websocket.CloseMessage:
		code, _, err := parseClose(f.payload)
		if err != nil {
			return false, err
		}
		c.closeReceived(code)
		return false, nil
	default:
		if f.length > uint64(c.hub.cfg.ReadLimit) {
			c.shut(websocket.CloseMessageTooBig, "message too big")
		} else {
			c.shut(websocket.ClosePolicyViolation, clientMessageReason)
		}
	}
	return true, nil
}

// closeReceived answers the client's close frame with the same code (1000 when it had none)
// after what is being written, unless the hub is closing the connection itself already.
func (c *client) closeReceived(code int) {
	c.mu.Lock()
	echo := c.out.code == 0 && !c.gone
	c.out.queue = nil
	if echo {
		if code == websocket.CloseNoStatusReceived {
			code = websocket.CloseNormalClosure
		}
		c.out.code, c.out.reason = code, ""
		c.wakeLocked()
	}
	c.mu.Unlock()
	if !echo {
		c.end()
	}
}

// clientMessageReason is the close reason for a client that sent a data message.
const clientMessageReason = "/ws does not accept messages from clients; filters and resume go in the URL query"
