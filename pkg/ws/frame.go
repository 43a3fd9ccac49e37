package ws

import (
	"bytes"
	"encoding/binary"
	"strings"
	"unicode/utf8"

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

// textFrame is a whole text message. A text frame must be valid UTF-8 (RFC 6455 §8.1) or the
// browser fails the connection, so invalid bytes (a row stored before the intake refused them)
// are replaced by U+FFFD: the hub cannot send an invalid text frame. In the hub's JSON such
// bytes can only sit inside strings, so the message stays valid JSON.
func textFrame(payload []byte) []byte {
	if !utf8.Valid(payload) {
		payload = bytes.ToValidUTF8(payload, []byte("\uFFFD"))
	}
	return appendFrame(make([]byte, 0, len(payload)+10), websocket.TextMessage, payload)
}

// controlFrame is a ping, pong or close frame; its payload is cut to what a control frame can
// carry.
func controlFrame(opcode int, payload []byte) []byte {
	return appendFrame(nil, opcode, payload[:min(len(payload), maxControlPayload)])
}

// closeFrame carries a close code and a reason (cut to fit a control frame).
func closeFrame(code int, reason string) []byte {
	reason = strings.ToValidUTF8(reason, "\uFFFD") // a close reason is UTF-8 too
	if len(reason) > maxControlPayload-2 {
		cut := maxControlPayload - 2
		for cut > 0 && !utf8.RuneStart(reason[cut]) {
			cut--
		}
		reason = reason[:cut]
	}
	return controlFrame(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason))
}
