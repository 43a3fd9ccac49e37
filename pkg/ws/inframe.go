package ws

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

// The hub parses what clients send itself (RFC 6455 §5.2: client frames are masked; control
// frames are final and carry at most 125 bytes) rather than through gorilla's reader: gorilla
// reads through a buffer and blocks until a data message arrives, so every connection would
// need a parked goroutine and a read buffer. The parser is fed whatever bytes have arrived and
// keeps only an unfinished frame's first bytes (at most 14 + 125) between reads, so an idle
// connection holds no buffer, and on Linux no goroutine either (poll_linux.go).

// maxHeader is the largest frame header: 2 bytes, a 64-bit length and a 4-byte mask key.
const maxHeader = 14

// inFrame is one parsed client frame: a whole control frame (payload unmasked) or the header
// of a data frame, whose payload (length bytes) follows and is skipped.
type inFrame struct {
	opcode  int
	length  uint64
	payload []byte // control frames only
}

// protocolError is a frame the hub must refuse: the client is closed with code and reason.
type protocolError struct {
	code   int
	reason string
}

func (e *protocolError) Error() string { return fmt.Sprintf("websocket %d: %s", e.code, e.reason) }

func protoErr(format string, args ...any) *protocolError {
	return &protocolError{code: websocket.CloseProtocolError, reason: fmt.Sprintf(format, args...)}
}

// frameReader holds what is left of a partly received frame between reads.
type frameReader struct {
	partial []byte // the start of a frame whose header or control payload is incomplete
	skip    uint64 // data payload bytes still to be skipped
}

// feed parses b and calls handle for each frame, in order, until handle returns false (the
// client is done) or an error. b may be modified (control payloads are unmasked in place).
func (r *frameReader) feed(b []byte, handle func(inFrame) (bool, error)) (bool, error) {
	if len(r.partial) > 0 {
		b = append(r.partial, b...)
		r.partial = nil
	}
	for len(b) > 0 {
		if r.skip > 0 {
			k := min(r.skip, uint64(len(b)))
			r.skip -= k
			b = b[k:]
			continue
		}
		f, n, err := parseFrame(b)
		if err != nil {
			return false, err
		}
		if n == 0 { // incomplete: at most maxHeader+maxControlPayload bytes are kept
			r.partial = append([]byte(nil), b...)
			return true, nil
		}
		b = b[n:]
		if !isControl(f.opcode) {
			r.skip = f.length
		}
		if more, err := handle(f); !more || err != nil {
			return more, err
		}
	}
	return true, nil
}

func isControl(opcode int) bool { return opcode >= websocket.CloseMessage }

// parseFrame parses the frame at the start of b. It returns the frame and the bytes it took
// (the whole frame for a control frame, the header for a data frame), or n == 0 when b does
// not hold that much yet.
func parseFrame(b []byte) (f inFrame, n int, err error) {
	if len(b) < 2 {
		return f, 0, nil
	}
	final, rsv, opcode := b[0]&0x80 != 0, b[0]&0x70, int(b[0]&0x0f)
	masked, length, n := b[1]&0x80 != 0, uint64(b[1]&0x7f), 2
	switch {
	case rsv != 0:
		return f, 0, protoErr("unexpected reserved bits 0x%x", rsv)
	case opcode > websocket.BinaryMessage && !isControl(opcode) || opcode > websocket.PongMessage:
		return f, 0, protoErr("unknown opcode %d", opcode)
	case !masked:
		return f, 0, protoErr("a client's frames must be masked")
	case isControl(opcode) && (length > maxControlPayload || !final):
		return f, 0, protoErr("a control frame must be final and carry at most 125 bytes")
	}
	switch length {
	case 126:
		if len(b) < 4 {
			return f, 0, nil
		}
		length, n = uint64(binary.BigEndian.Uint16(b[2:])), 4
	case 127:
		if len(b) < 10 {
			return f, 0, nil
		}
		length, n = binary.BigEndian.Uint64(b[2:]), 10
		if length>>63 != 0 {
			return f, 0, protoErr("frame length out of range")
		}
	}
	if len(b) < n+4 {
		return f, 0, nil
	}
	key := b[n : n+4]
	n += 4
	f.opcode, f.length = opcode, length
	if !isControl(opcode) {
		return f, n, nil
	}
	if uint64(len(b)-n) < length {
		return f, 0, nil
	}
	f.payload = b[n : n+int(length)]
	for i := range f.payload {
		f.payload[i] ^= key[i&3]
	}
	return f, n + int(length), nil
}

// parseClose reads a close frame's payload: the code (1005 when absent) and the reason.
func parseClose(p []byte) (int, string, error) {
	if len(p) == 0 {
		return websocket.CloseNoStatusReceived, "", nil
	}
	if len(p) < 2 {
		return 0, "", protoErr("invalid close frame")
	}
	code, reason := int(binary.BigEndian.Uint16(p)), p[2:]
	if !validCloseCode(code) {
		return 0, "", protoErr("invalid close code %d", code)
	}
	if !utf8.Valid(reason) {
		return 0, "", protoErr("invalid UTF-8 in close frame")
	}
	return code, string(reason), nil
}

// validCloseCode is whether a client may send code (RFC 6455 §7.4, the IANA registry; as
// gorilla/websocket accepts).
func validCloseCode(code int) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1013, code >= 3000 && code <= 4999:
		return true
	}
	return false
}
