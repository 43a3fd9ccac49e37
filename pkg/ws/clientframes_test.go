package ws_test

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"canistry/pkg/ws"
)

// Frame opcodes and first bytes (FIN set) of the frames the tests send.
const (
	opText, opBinary, opClose, opPing, opPong = 0x1, 0x2, 0x8, 0x9, 0xa
	fin                                       = 0x80
)

func closePayload(code int, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(code)), reason...)
}

// TestHub_ClientFrames sends what a client may and may not send, over both ways the hub reads
// (the poller, a reader goroutine), whole and (what the hub answers without closing) one byte
// per write, and checks the hub's answer:
// a pong with the ping's payload, its close echoed, or a close code and the connection closed
// and the client removed.
func TestHub_ClientFrames(t *testing.T) {
	for _, tc := range []struct {
		name       string
		send       []byte
		wantOp     byte
		wantCode   int    // for wantOp close
		wantReason string // part of the close reason
	}{
		{"Ping", clientFrame(fin|opPing, []byte("are you there"), false), opPong, 0, "are you there"},
		{"EmptyPing", clientFrame(fin|opPing, nil, false), opPong, 0, ""},
		{"Close", clientFrame(fin|opClose, closePayload(1001, "bye"), false), opClose, 1001, ""},
		{"CloseNoCode", clientFrame(fin|opClose, nil, false), opClose, 1000, ""},
		{"PongThenClose", append(clientFrame(fin|opPong, []byte("x"), false), clientFrame(fin|opClose, closePayload(4000, ""), false)...), opClose, 4000, ""},
		{"Text", clientFrame(fin|opText, []byte(`{"subscribe":1}`), false), opClose, 1008, "does not accept messages"},
		{"FirstFragment", clientFrame(opBinary, []byte("ab"), false), opClose, 1008, "does not accept messages"},
		// The header decides; the payload is not sent (the hub closes the connection at once,
		// and bytes arriving after that would reset it before the close frame is read).
		{"TooBig", clientFrame(fin|opBinary, make([]byte, 5000), false)[:8], opClose, 1009, "too big"},
		{"Unmasked", clientFrame(fin|opPing, []byte("x"), true), opClose, 1002, "masked"},
		{"ReservedBits", clientFrame(fin|0x40|opPing, nil, false), opClose, 1002, "reserved bits"},
		{"UnknownOpcode", clientFrame(fin|0x3, nil, false), opClose, 1002, "opcode"},
		{"LongControl", clientFrame(fin|opPing, make([]byte, 126), false), opClose, 1002, "control frame"},
		{"FragmentedControl", clientFrame(opPing, nil, false), opClose, 1002, "control frame"},
		{"CloseCode1005", clientFrame(fin|opClose, closePayload(1005, ""), false), opClose, 1002, "close code"},
		{"CloseOneByte", clientFrame(fin|opClose, []byte{3}, false), opClose, 1002, "close frame"},
		{"CloseBadUTF8", clientFrame(fin|opClose, closePayload(1000, "\xff"), false), opClose, 1002, "UTF-8"},
	} {
		for _, transport := range transports {
			for _, chunk := range []int{0, 1} {
				if refused := tc.wantReason != "" && tc.wantOp == opClose; refused && chunk == 1 {
					continue // the hub closes at the first bad frame: bytes after it would reset the connection
				}
				t.Run(fmt.Sprintf("%s/%s/chunk=%d", tc.name, transport, chunk), func(t *testing.T) {
					hub, srv := startHubOver(t, transport, ws.Config{})
					c := dialRaw(t, srv)
					waitClients(t, hub, 1)
					c.write(tc.send, chunk)
					op, p := c.nextControl()
					if op != tc.wantOp {
						t.Fatalf("got opcode %d %q, want %d", op, p, tc.wantOp)
					}
					if op == opPong {
						if string(p) != tc.wantReason {
							t.Fatalf("pong %q, want %q", p, tc.wantReason)
						}
						c.write(clientFrame(fin|opClose, nil, false), 0) // still read: it answers
						if op, p = c.nextControl(); op != opClose || string(p[:2]) != "\x03\xe8" {
							t.Fatalf("after the pong: opcode %d %q, want close 1000", op, p)
						}
					} else if code := int(binary.BigEndian.Uint16(p)); code != tc.wantCode || !strings.Contains(string(p[2:]), tc.wantReason) {
						t.Fatalf("close %d %q, want %d with %q", code, p[2:], tc.wantCode, tc.wantReason)
					}
					c.closed()
					waitClients(t, hub, 0)
				})
			}
		}
	}
}

// TestHub_PongDeadline: over both ways the hub reads, a client that answers no ping is closed
// after PongWait, and one that answers every ping stays for many times longer.
func TestHub_PongDeadline(t *testing.T) {
	for _, transport := range transports {
		t.Run(transport, func(t *testing.T) {
			hub, srv := startHubOver(t, transport, ws.Config{PingInterval: 50 * time.Millisecond, PongWait: 300 * time.Millisecond})
			live := dialRaw(t, srv)
			var pongs atomic.Int64
			go func() {
				for {
					op, p, err := live.next()
					if err != nil {
						return
					}
					if op == opPing {
						if _, err := live.c.Write(clientFrame(fin|opPong, p, false)); err != nil {
							return
						}
						pongs.Add(1)
					}
				}
			}()
			silent := dialRaw(t, srv)
			waitClients(t, hub, 2)
			silent.closed() // no close frame: the connection just ends, as when a read times out
			waitClients(t, hub, 1)
			waitFor(t, "30 pongs (five times PongWait)", func() bool { return pongs.Load() >= 30 })
			if got := hub.Status().Clients; got != 1 {
				t.Fatalf("%d clients, want the answering one", got)
			}
		})
	}
}

// TestHub_IdleClientsHaveNoGoroutine: on Linux the poller reads every plain connection, so
// idle clients add no goroutine (a reader goroutine each would add 50).
func TestHub_IdleClientsHaveNoGoroutine(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the poller is Linux's epoll")
	}
	hub, srv := startHub(t, ws.Config{})
	before := runtime.NumGoroutine()
	const n = 50
	for range n {
		dialRaw(t, srv)
	}
	waitClients(t, hub, n)
	waitFor(t, "the handshakes' goroutines to end", func() bool { return runtime.NumGoroutine() < before+n/5 })
	// They are read nonetheless: each answers a ping.
	c := dialRaw(t, srv)
	c.write(clientFrame(fin|opPing, []byte("still read"), false), 1)
	if op, p := c.nextControl(); op != opPong || string(p) != "still read" {
		t.Fatalf("got %d %q, want the pong", op, p)
	}
}

// TestHub_ManyClientsAtOnce: clients whose frames arrive interleaved, a byte at a time, are each
// parsed on their own (over both ways the hub reads): every one gets the pong of its own ping.
func TestHub_ManyClientsAtOnce(t *testing.T) {
	for _, transport := range transports {
		t.Run(transport, func(t *testing.T) {
			hub, srv := startHubOver(t, transport, ws.Config{})
			const n = 20
			clients := make([]*rawClient, n)
			for i := range clients {
				clients[i] = dialRaw(t, srv)
			}
			waitClients(t, hub, n)
			frames := make([][]byte, n)
			for i := range frames { // payloads of one length, so the bytes go out in step
				frames[i] = clientFrame(fin|opPing, fmt.Appendf(nil, "client %02d", i), false)
			}
			for k := range len(frames[0]) { // every client's k-th byte, then the next
				for i, c := range clients {
					c.write(frames[i][k:k+1], 0)
				}
			}
			for i, c := range clients {
				if op, p := c.nextControl(); op != opPong || string(p) != fmt.Sprintf("client %02d", i) {
					t.Errorf("client %d: got %d %q", i, op, p)
				}
			}
		})
	}
}
