package ws_test

import (
	"encoding/json"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"canistry/pkg/registry"
)

// TestHub_NeverSendsInvalidUTF8: an event whose data holds bytes that are not UTF-8 (a row
// stored before the intake refused them) goes out repaired, as valid UTF-8 and valid JSON,
// live and in a replay, and the connection stays up for the next event: a browser would fail
// the connection on an invalid text frame and replay the same row forever.
func TestHub_NeverSendsInvalidUTF8(t *testing.T) {
	log := &eventLog{}
	hub, srv := startHub(t, log.config())
	log.commit(hub, registry.EventSolutionFound, "{\"n\":\"\xff\xfe\"}")
	live := dial(t, srv, "", nil)
	replayed := dial(t, srv, "since=0", nil)
	waitClients(t, hub, 2)
	log.commit(hub, registry.EventSolutionFound, "{\"n\":\"a\xe2\x82b\"}")
	log.commit(hub, registry.EventSolutionFound, `{"n":"ok"}`)
	for _, tc := range []struct {
		name string
		c    *websocket.Conn
		want []string
	}{
		{"Replay", replayed, []string{"\ufffd", "a\ufffdb", "ok"}},
		{"Live", live, []string{"a\ufffdb", "ok"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i, want := range tc.want {
				_ = tc.c.SetReadDeadline(time.Now().Add(patience))
				typ, b, err := tc.c.ReadMessage()
				if err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				if typ != websocket.TextMessage || !utf8.Valid(b) {
					t.Fatalf("message %d: type %d, valid UTF-8 %v: %q", i, typ, utf8.Valid(b), b)
				}
				var e registry.Event
				if err := json.Unmarshal(b, &e); err != nil {
					t.Fatalf("message %d is not JSON: %v: %q", i, err, b)
				}
				var d struct{ N string }
				if err := json.Unmarshal(e.Data, &d); err != nil || d.N != want {
					t.Errorf("message %d: data.n %q (%v), want %q", i, d.N, err, want)
				}
			}
		})
	}
}
