package notify_test

import (
	"testing"

	"canistry/pkg/registry"
)

// TestIntake_InvalidUTF8: a body with bytes that are not UTF-8 gets the same 400 for every copy,
// is not stored, and nothing reaches the WebSocket clients.
func TestIntake_InvalidUTF8(t *testing.T) {
	sh := newShared(t)
	inst := newInstance(t, sh, opts{})
	c := wsClient(t, sh)
	ts := uint64(1_700_000_000_000_000_000)
	for _, data := range []string{"{\"n\":\"\xff\xfe\"}", "{\"n\":\"\xe2\x82\"}", "{\"n\":\"\xed\xa0\x80\"}"} {
		body := notification(registry.EventSolutionFound, ts, data)
		resps := storm(t, []string{inst.addr}, func(addr string, _ int) []byte { return rawRequest(addr, jsonHeaders(), body) }, 13)
		checkIdentical(t, resps, "400 Bad Request")
	}
	if n := rowCount(t, inst.store); n != 0 {
		t.Errorf("%d rows stored, want none", n)
	}
	sentinel(t, inst.addr, ts+1)
	evs := readUntil(t, c, isSentinel)
	if len(evs) != 1 {
		t.Errorf("websocket got %+v before the sentinel, want nothing", evs[:len(evs)-1])
	}
}
