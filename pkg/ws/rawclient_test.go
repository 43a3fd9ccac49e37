package ws_test

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"io"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"canistry/pkg/ws"
)

// The hub reads a plain TCP connection through its poller (epoll on Linux) and a TLS one
// through a reader goroutine; tests that look at what the hub reads run over both.
var transports = []string{"tcp", "tls"}

// startHubOver starts a hub behind an httptest server over transport ("tcp" or "tls").
func startHubOver(t *testing.T, transport string, cfg ws.Config) (*ws.Hub, *httptest.Server) {
	t.Helper()
	if transport == "tcp" {
		return startHub(t, cfg)
	}
	h := ws.NewHub(cfg)
	srv := httptest.NewTLSServer(h)
	t.Cleanup(func() { closeHub(t, h); srv.Close() })
	return h, srv
}

// rawClient is a WebSocket client that writes and reads frames byte for byte as the test says.
type rawClient struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

// dialRaw performs the handshake on a raw connection to srv (TLS when srv is).
func dialRaw(t *testing.T, srv *httptest.Server) *rawClient {
	t.Helper()
	addr := srv.Listener.Addr().String()
	var c net.Conn
	var err error
	if srv.TLS != nil {
		pool := x509.NewCertPool()
		pool.AddCert(srv.Certificate())
		c, err = (&tls.Dialer{Config: &tls.Config{RootCAs: pool, ServerName: "example.com"}}).DialContext(t.Context(), "tcp", addr)
	} else {
		c, err = (&net.Dialer{}).DialContext(t.Context(), "tcp", addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	upgradeRaw(t, c, addr)
	return &rawClient{t: t, c: c, br: bufio.NewReader(c)}
}

// upgradeRaw sends the handshake on c and reads the 101 response byte by byte, so that no
// frame is consumed.
func upgradeRaw(t *testing.T, c net.Conn, host string) {
	t.Helper()
	req := "GET /ws HTTP/1.1\r\nHost: " + host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	var head []byte
	b := make([]byte, 1)
	_ = c.SetReadDeadline(time.Now().Add(patience))
	for !strings.HasSuffix(string(head), "\r\n\r\n") {
		if _, err := c.Read(b); err != nil {
			t.Fatalf("handshake: %v", err)
		}
		head = append(head, b[0])
	}
	if !strings.HasPrefix(string(head), "HTTP/1.1 101") {
		t.Fatalf("handshake: %q", head)
	}
}

// clientFrame encodes a client frame: first is the first byte (FIN, RSV, opcode); the payload
// is masked unless unmasked.
func clientFrame(first byte, payload []byte, unmasked bool) []byte {
	b := []byte{first, 0}
	switch n := len(payload); {
	case n < 126:
		b[1] = byte(n)
	case n <= 0xffff:
		b[1] = 126
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b[1] = 127
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	if unmasked {
		return append(b, payload...)
	}
	b[1] |= 0x80
	key := []byte{0x37, 0xfa, 0x21, 0x3d}
	b = append(b, key...)
	for i, p := range payload {
		b = append(b, p^key[i&3])
	}
	return b
}

// write sends b in pieces of at most chunk bytes (0: at once), each its own write.
func (r *rawClient) write(b []byte, chunk int) {
	r.t.Helper()
	if chunk <= 0 {
		chunk = len(b)
	}
	for len(b) > 0 {
		k := min(chunk, len(b))
		if _, err := r.c.Write(b[:k]); err != nil {
			r.t.Fatalf("write: %v", err)
		}
		b = b[k:]
	}
}

// next reads the next server frame (unmasked, final).
func (r *rawClient) next() (opcode byte, payload []byte, err error) {
	_ = r.c.SetReadDeadline(time.Now().Add(patience))
	var h [2]byte
	if _, err := io.ReadFull(r.br, h[:]); err != nil {
		return 0, nil, err
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var l [2]byte
		_, err = io.ReadFull(r.br, l[:])
		n = uint64(binary.BigEndian.Uint16(l[:]))
	case 127:
		var l [8]byte
		_, err = io.ReadFull(r.br, l[:])
		n = binary.BigEndian.Uint64(l[:])
	}
	if err != nil {
		return 0, nil, err
	}
	payload = make([]byte, n)
	_, err = io.ReadFull(r.br, payload)
	return h[0] & 0x0f, payload, err
}

// nextControl skips data frames and returns the next control frame.
func (r *rawClient) nextControl() (opcode byte, payload []byte) {
	r.t.Helper()
	for {
		op, p, err := r.next()
		if err != nil {
			r.t.Fatalf("read: %v", err)
		}
		if op >= 8 {
			return op, p
		}
	}
}

// closed waits for the server to close the connection.
func (r *rawClient) closed() {
	r.t.Helper()
	_ = r.c.SetReadDeadline(time.Now().Add(patience))
	if _, err := io.Copy(io.Discard, r.br); err != nil {
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			r.t.Fatal("the server did not close the connection")
		}
	}
}
