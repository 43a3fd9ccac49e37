package ws_test

import (
	"net/http"
	"net/netip"
	"testing"

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
