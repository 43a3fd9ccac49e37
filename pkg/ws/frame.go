package ws

import (
	"encoding/binary"

	"github.com/gorilla/websocket"
)

// The hub writes server frames itself (RFC 6455 §5.2: FIN, opcode, length, unmasked payload)
// instead of through gorilla's writer: a frame is encoded once for all clients, and each write
// is one net.Conn.Write, which the runtime serialises against gorilla's own rare control writes,
// so frames never interleave. Only reading goes through gorilla.

// maxControlPayload is the largest payload of a control frame.
const maxControlPayload = 125

func appendFrame(b []byte, opcode int, payload []byte) []byte {
	b = append(b, 0x80|byte(opcode))
	switch n := len(payload); {
	case n < 126:
		b = append(b, byte(n))
	case n <= 0xffff:
		b = append(b, 126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, 127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	return append(b, payload...)
}

// textFrame is a whole text message.
func textFrame(payload []byte) []byte {
	return appendFrame(make([]byte, 0, len(payload)+10), websocket.TextMessage, payload)
}

// controlFrame is a ping, pong or close frame; its payload is cut to what a control frame can
// carry.
func controlFrame(opcode int, payload []byte) []byte {
	return appendFrame(nil, opcode, payload[:min(len(payload), maxControlPayload)])
}

// closeFrame carries a close code and a reason (cut to fit a control frame).
func closeFrame(code int, reason string) []byte {
	if len(reason) > maxControlPayload-2 {
		reason = reason[:maxControlPayload-2]
	}
	return controlFrame(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason))
}
