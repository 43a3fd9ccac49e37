package main

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"canistry/pkg/lifecycle/runtest"
)

// TestWSEdges_Wire checks the edges of /ws on the notifier as it runs: a malformed cursor and a
// foreign Origin are refused before the upgrade in the one error shape (our words), and a client
// that sends a message is closed with 1008 and a reason.
func TestWSEdges_Wire(t *testing.T) {
	p := runtest.Start(t, run, notifierEnv(t.TempDir(), startNATS(t)))
	runtest.WaitHTTP(t, p.URL("/readyz"), http.StatusOK)
	url := "ws://" + p.Addr + "/ws"
	for _, tc := range []struct {
		name, query, origin string
		status              int
		code, msg           string
	}{
		{"MalformedCursor", "?since=zzzz:1", "", http.StatusBadRequest, "invalid", `since must be a cursor`},
		{"ForeignOrigin", "", "https://evil.example", http.StatusForbidden, "forbidden", `a page of origin "https://evil.example" may not open /ws here`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.origin != "" {
				h.Set("Origin", tc.origin)
			}
			c, res, err := websocket.DefaultDialer.DialContext(t.Context(), url+tc.query, h)
			if err == nil {
				_ = c.Close()
				t.Fatal("upgraded")
			}
			if res == nil || res.StatusCode != tc.status {
				t.Fatalf("got %v, want %d", err, tc.status)
			}
			body, _ := io.ReadAll(res.Body)
			var e struct {
				Error struct{ Code, Message string }
			}
			if json.Unmarshal(body, &e) != nil || e.Error.Code != tc.code || !strings.Contains(e.Error.Message, tc.msg) {
				t.Errorf("body %s, want %s containing %q", body, tc.code, tc.msg)
			}
		})
	}
	t.Run("ClientMessage", func(t *testing.T) {
		c := dialWS(t, p.Addr)
		if err := c.WriteMessage(websocket.TextMessage, []byte("hello")); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(patience))
		_, _, err := c.ReadMessage()
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation || !strings.Contains(ce.Text, "does not accept messages") {
			t.Fatalf("got %v, want close 1008 with a reason", err)
		}
	})
}
