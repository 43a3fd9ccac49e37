package ws_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"canistry/pkg/ws"
)

// TestHub_ForwardedHostOverTCP dials a real loopback connection with a forwarded host: honoured
// while loopback is trusted (the default), refused with 403 once it is not.
func TestHub_ForwardedHostOverTCP(t *testing.T) {
	_, srv := startHub(t, ws.Config{})
	h := http.Header{}
	h.Set("Origin", "https://public.example")
	h.Set("X-Forwarded-Host", "public.example")

	c, _, err := websocket.DefaultDialer.DialContext(t.Context(), wsURL(srv, ""), h)
	if err != nil {
		t.Fatalf("loopback proxy with X-Forwarded-Host refused: %v", err)
	}
	_ = c.Close()

	_, other := startHub(t, ws.Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}})
	c, resp, err := websocket.DefaultDialer.DialContext(t.Context(), wsURL(other, ""), h)
	if err == nil {
		_ = c.Close()
		t.Fatal("forged X-Forwarded-Host from an untrusted peer accepted")
	}
	if resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("got %v, want 403", err)
	}
}

// TestHub_ForeignOrigin: a page of another origin gets 403 in the one error shape, in our words
// (not the WebSocket library's), and no upgrade.
func TestHub_ForeignOrigin(t *testing.T) {
	_, srv := startHub(t, ws.Config{AllowedOrigins: []string{"https://allowed.example"}})
	for _, tc := range []struct {
		origin string
		want   int
	}{
		{"https://evil.example", http.StatusForbidden},
		{"null", http.StatusForbidden},
		{"https://allowed.example", http.StatusSwitchingProtocols},
	} {
		t.Run(tc.origin, func(t *testing.T) {
			c, resp, err := websocket.DefaultDialer.DialContext(t.Context(), wsURL(srv, ""), http.Header{"Origin": {tc.origin}})
			if err == nil {
				_ = c.Close()
			}
			if resp == nil || resp.StatusCode != tc.want {
				t.Fatalf("Origin %s: %v, want %d", tc.origin, err, tc.want)
			}
			if tc.want != http.StatusForbidden {
				return
			}
			body, _ := io.ReadAll(resp.Body)
			code, msg := errorShape(t, body)
			if code != "forbidden" || !strings.Contains(msg, `a page of origin "`+tc.origin+`" may not open /ws here`) ||
				strings.Contains(strings.ToLower(msg), "websocket:") || strings.Contains(msg, "Upgrader") {
				t.Errorf("403 %s %q, want forbidden in our own words", code, msg)
			}
		})
	}
}

// TestHub_ClientMessage: /ws only sends; a client that sends a message (text or binary) is
// closed with 1008 and a reason that says why, and is removed.
func TestHub_ClientMessage(t *testing.T) {
	for _, kind := range []int{websocket.TextMessage, websocket.BinaryMessage} {
		t.Run(fmt.Sprint(kind), func(t *testing.T) {
			hub, srv := startHub(t, ws.Config{})
			c := dial(t, srv, "", nil)
			waitClients(t, hub, 1)
			if err := c.WriteMessage(kind, []byte(`{"subscribe":"solution_found"}`)); err != nil {
				t.Fatal(err)
			}
			_ = c.SetReadDeadline(time.Now().Add(patience))
			_, _, err := c.ReadMessage()
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation || !strings.Contains(ce.Text, "does not accept messages from clients") {
				t.Fatalf("got %v, want close 1008 with a reason", err)
			}
			waitClients(t, hub, 0)
		})
	}
}
