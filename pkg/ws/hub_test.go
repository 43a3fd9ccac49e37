package ws_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"canistry/pkg/registry"
	"canistry/pkg/ws"
)

const (
	minerA = "ryjl3-tyaaa-aaaaa-aaaba-cai"
	minerB = "r7inp-6aaaa-aaaaa-aaabq-cai"
	tokenX = "mxzaz-hqaaa-aaaar-qaada-cai"
	tokenY = "ss2fx-dyaaa-aaaar-qacoq-cai"
)

func TestHub_Filters(t *testing.T) {
	hub, srv := startHub(t, ws.Config{})
	events := []registry.Event{
		{ID: 1, Event: registry.EventTokenConnected, MinerID: minerA, Data: json.RawMessage(`{"token_id":"` + tokenX + `","miner_id":"` + minerA + `"}`)},
		{ID: 2, Event: registry.EventSolutionFound, MinerID: minerA, Data: json.RawMessage(`{"token_id":"` + tokenX + `","block_height":1}`)},
		{ID: 3, Event: registry.EventSolutionFound, MinerID: minerB, Data: json.RawMessage(`{"token_id":"` + tokenY + `","block_height":2}`)},
		{ID: 0, Event: registry.EventCanisterUpdated, Data: json.RawMessage(`{"canister_id":"` + tokenY + `"}`)},
		{ID: 4, Event: "future_event", MinerID: minerB, Data: json.RawMessage(`{"anything":[1,2]}`)},
	}
	tests := []struct {
		query string
		want  []int // indexes into events
	}{
		{"", []int{0, 1, 2, 3, 4}},
		{"events=solution_found", []int{1, 2}},
		{"events=solution_found,future_event", []int{1, 2, 4}},
		{"token=" + tokenX, []int{0, 1}},
		{"token=" + tokenY, []int{2, 3}},
		{"miner=" + minerB, []int{2, 4}},
		{"miner=" + minerA + "&events=solution_found", []int{1}},
		{"token=" + tokenY + "&miner=" + minerA, nil},
	}
	conns := make([]*websocket.Conn, len(tests))
	for i, tc := range tests {
		conns[i] = dial(t, srv, tc.query, nil)
	}
	waitClients(t, hub, int64(len(tests)))
	for _, e := range events {
		hub.Publish(e)
	}
	// Sentinels (id ≥ 100) come last and each client matches at least one, so "nothing else
	// arrived" is checked by reading up to the first sentinel instead of by waiting.
	hub.Publish(registry.Event{ID: 100, Event: registry.EventSolutionFound, MinerID: minerA,
		Data: json.RawMessage(`{"token_id":"` + tokenX + `","canister_id":"` + tokenY + `"}`)})
	hub.Publish(registry.Event{ID: 101, Event: registry.EventSolutionFound, MinerID: minerB,
		Data: json.RawMessage(`{"token_id":"` + tokenY + `"}`)})
	for i, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			var got []registry.Event
			for e := read(t, conns[i]); e.ID < 100; e = read(t, conns[i]) {
				got = append(got, e)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d events %+v, want %v", len(got), got, tc.want)
			}
			for j, w := range tc.want {
				if got[j].ID != events[w].ID || got[j].Event != events[w].Event || got[j].MinerID != events[w].MinerID {
					t.Errorf("event %d: got %+v, want %+v", j, got[j], events[w])
				}
			}
		})
	}
}

// TestHub_SinceSeam checks the replay seam: events committed while the replay runs (before the
// first page's snapshot, or after the last one's) arrive exactly once, in order: the replay
// reads only up to the position the client was registered at, the queue has the rest. An event
// that is not in the log (id 0) passes live.
func TestHub_SinceSeam(t *testing.T) {
	tests := []struct {
		name   string
		call   int
		before bool
		want   []int64
	}{
		// 6, R, 7 are in the history the replay reads, but after the client's position: they
		// come from the queue, once, in order.
		{"BeforeFirstSnapshot", 1, true, []int64{3, 4, 5, 6, 0, 7, 8}},
		// 6, R, 7 came after the last page: they are delivered live, in order.
		{"AfterLastSnapshot", 2, false, []int64{3, 4, 5, 6, 0, 7, 8}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			log := &eventLog{}
			cfg := log.config()
			cfg.ReplayPage = 2
			hub, srv := startHub(t, cfg)
			for range 5 {
				log.commit(hub, registry.EventSolutionFound, `{}`)
			}
			log.hookCall, log.hookBefore = tc.call, tc.before
			log.hook = func() {
				log.commit(hub, registry.EventSolutionFound, `{}`) // 6
				hub.Publish(event(0, registry.EventCanisterUpdated, `{}`))
				log.commit(hub, registry.EventMiningStarted, `{}`) // 7
			}
			c := dial(t, srv, "since=2", nil)
			var got []int64
			for len(got) < 6 {
				got = append(got, read(t, c).ID)
			}
			log.commit(hub, registry.EventSolutionFound, `{}`) // 8
			for got[len(got)-1] != 8 {
				got = append(got, read(t, c).ID)
			}
			if !equalIDs(got, tc.want) {
				t.Errorf("got ids %v, want %v", got, tc.want)
			}
		})
	}
}

func equalIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestHub_ReplayGap(t *testing.T) {
	log := &eventLog{last: 9} // ids 1-9 were deleted by retention
	hub, srv := startHub(t, log.config())
	log.commit(hub, registry.EventSolutionFound, `{}`) // 10
	log.commit(hub, registry.EventSolutionFound, `{}`) // 11

	c := dial(t, srv, "since=3", nil)
	gap := read(t, c)
	var d struct{ Since, Oldest int64 }
	if err := json.Unmarshal(gap.Data, &d); err != nil || gap.Event != ws.EventReplayGap || gap.ID != 0 || d.Since != 3 || d.Oldest != 10 {
		t.Fatalf("first message %+v (%v), want a replay.gap from 3 to 10", gap, err)
	}
	if a, b := read(t, c), read(t, c); a.ID != 10 || b.ID != 11 {
		t.Errorf("replayed %d, %d; want 10, 11", a.ID, b.ID)
	}
	// No gap when the history reaches back far enough.
	c2 := dial(t, srv, "since="+epoch+":9", nil)
	if e := read(t, c2); e.ID != 10 {
		t.Errorf("since=9: first message %+v, want event 10", e)
	}
}

// TestHub_ReplayReset: a cursor of another log (its epoch differs, or it lies beyond the log's
// head: a recreated database with a bare id) gets replay.reset first, then the log from its
// beginning, then live events; a cursor of this log does not.
func TestHub_ReplayReset(t *testing.T) {
	tests := []struct {
		name, since string
		reset       bool
		want        []int64
	}{
		{"OtherEpoch", "0123456789abcdef:2", true, []int64{1, 2, 3, 4}},
		{"OtherEpochAtZero", "0123456789abcdef:0", true, []int64{1, 2, 3, 4}},
		{"BareIDBeyondHead", "40", true, []int64{1, 2, 3, 4}},
		{"CursorBeyondHead", epoch + ":4", true, []int64{1, 2, 3, 4}},
		{"ThisLog", epoch + ":1", false, []int64{2, 3, 4}},
		{"BareID", "2", false, []int64{3, 4}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			log := &eventLog{}
			hub, srv := startHub(t, log.config())
			for range 3 {
				log.commit(hub, registry.EventSolutionFound, `{}`)
			}
			c := dial(t, srv, "since="+tc.since, nil)
			if tc.reset {
				e := read(t, c)
				var d struct {
					Since, Epoch string
					Head         int64
				}
				if err := json.Unmarshal(e.Data, &d); err != nil || e.Event != ws.EventReplayReset || e.ID != 0 || d.Since != tc.since || d.Epoch != epoch || d.Head != 3 {
					t.Fatalf("first message %+v (%v), want replay.reset of %s", e, err, tc.since)
				}
			}
			waitClients(t, hub, 1)
			log.commit(hub, registry.EventSolutionFound, `{}`) // 4, live
			var got []int64
			for len(got) < len(tc.want) {
				got = append(got, read(t, c).ID)
			}
			if !equalIDs(got, tc.want) {
				t.Errorf("got ids %v, want %v", got, tc.want)
			}
		})
	}
}

// TestHub_Last: ?last=N replays the last N logged events (all of them when there are fewer),
// then goes live.
func TestHub_Last(t *testing.T) {
	for _, tc := range []struct {
		last string
		want []int64
	}{{"2", []int64{4, 5, 6}}, {"50", []int64{1, 2, 3, 4, 5, 6}}} {
		log := &eventLog{}
		hub, srv := startHub(t, log.config())
		for range 5 {
			log.commit(hub, registry.EventSolutionFound, `{}`)
		}
		c := dial(t, srv, "last="+tc.last, nil)
		waitClients(t, hub, 1)
		log.commit(hub, registry.EventSolutionFound, `{}`)
		var got []int64
		for len(got) < len(tc.want) {
			got = append(got, read(t, c).ID)
		}
		if !equalIDs(got, tc.want) {
			t.Errorf("last=%s: got %v, want %v", tc.last, got, tc.want)
		}
	}
}

// TestHub_ClientAheadOfHub: a cursor from a notifier further along than this hub (its id is in
// the log but not yet delivered here) replays nothing and skips the live events up to it.
func TestHub_ClientAheadOfHub(t *testing.T) {
	log := &eventLog{}
	hub, srv := startHub(t, log.config())
	log.mu.Lock()
	for range 3 { // logged, not yet delivered to this hub
		log.last++
		log.events = append(log.events, event(log.last, registry.EventSolutionFound, `{}`))
	}
	log.mu.Unlock()
	c := dial(t, srv, "since="+epoch+":2", nil)
	waitClients(t, hub, 1)
	log.mu.Lock()
	pending := append([]registry.Event(nil), log.events...)
	log.mu.Unlock()
	hub.Deliver(pending) // 1, 2, 3 reach this hub late
	log.commit(hub, registry.EventSolutionFound, `{}`)
	if a, b := read(t, c), read(t, c); a.ID != 3 || b.ID != 4 {
		t.Errorf("got %d, %d; want 3, 4", a.ID, b.ID)
	}
}

// TestHub_DeliverDropsOldAndDuplicate: the hub never sends a logged id twice or after a
// higher one, whatever it is handed.
func TestHub_DeliverDropsOldAndDuplicate(t *testing.T) {
	hub, srv := startHub(t, ws.Config{})
	c := dial(t, srv, "", nil)
	waitClients(t, hub, 1)
	hub.Deliver([]registry.Event{event(1, "a", `{}`), event(2, "a", `{}`)})
	hub.Deliver([]registry.Event{event(2, "a", `{}`), event(1, "a", `{}`), event(3, "a", `{}`)})
	var got []int64
	for range 3 {
		got = append(got, read(t, c).ID)
	}
	if !equalIDs(got, []int64{1, 2, 3}) || hub.Position() != 3 {
		t.Errorf("got %v at position %d, want [1 2 3] at 3", got, hub.Position())
	}
}

// TestHub_SlowClient drops a client that reads nothing while a fast client receives everything.
func TestHub_SlowClient(t *testing.T) {
	hub, srv := startHub(t, ws.Config{QueueSize: 8})
	fast := dial(t, srv, "", nil)
	slow := dialNoRead(t, srv.Listener.Addr().String())
	waitClients(t, hub, 2)

	var fastGot atomic.Int64
	fastErr := make(chan error, 1)
	go func() {
		for {
			if _, _, err := fast.ReadMessage(); err != nil {
				fastErr <- err
				return
			}
			fastGot.Add(1)
		}
	}()
	data := `{"pad":"` + strings.Repeat("x", 32<<10) + `"}`
	const total = 600
	for i := int64(1); i <= total; i++ {
		hub.Publish(event(i, registry.EventSolutionFound, data))
		// Pace on the fast client only, so that it never has more than a few queued.
		waitFor(t, "the fast client to keep up", func() bool { return fastGot.Load() >= i-4 })
	}
	waitFor(t, "all events at the fast client", func() bool { return fastGot.Load() == total })
	if got := hub.Status().DroppedSlow; got != 1 {
		t.Fatalf("dropped %d slow clients, want 1", got)
	}
	// The slow client's connection is closed: reading what is buffered ends in EOF or a reset.
	_ = slow.SetReadDeadline(time.Now().Add(patience))
	buf := make([]byte, 64<<10)
	for {
		if _, err := slow.Read(buf); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("slow client's connection was not closed")
			}
			break
		}
	}
	waitClients(t, hub, 1)
	select {
	case err := <-fastErr:
		t.Fatalf("fast client failed: %v", err)
	default:
	}
}

// dialNoRead performs a WebSocket handshake on a raw TCP connection with a small receive buffer
// and then reads nothing.
func dialNoRead(t *testing.T, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return errors.Join(err, serr)
	}}
	c, err := d.DialContext(t.Context(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	upgradeRaw(t, c, addr)
	return c
}

func TestHub_Origin(t *testing.T) {
	tests := []struct {
		name    string
		allowed []string
		origin  string
		ok      bool
	}{
		{"NoOrigin", nil, "", true},
		{"SameHost", nil, "http://SAME", true},
		{"OtherRefused", nil, "https://evil.example", false},
		{"Listed", []string{"https://ok.example"}, "https://ok.example", true},
		{"ListedOtherRefused", []string{"https://ok.example"}, "https://evil.example", false},
		{"Any", []string{"*"}, "https://evil.example", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, srv := startHub(t, ws.Config{AllowedOrigins: tc.allowed})
			h := http.Header{}
			if tc.origin != "" {
				h.Set("Origin", strings.Replace(tc.origin, "SAME", srv.Listener.Addr().String(), 1))
			}
			c, resp, err := websocket.DefaultDialer.DialContext(t.Context(), wsURL(srv, ""), h)
			if tc.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				_ = c.Close()
				return
			}
			if err == nil {
				_ = c.Close()
				t.Fatal("accepted a foreign origin")
			}
			if resp == nil || resp.StatusCode != http.StatusForbidden {
				t.Fatalf("got %v, want 403", err)
			}
		})
	}
}

// TestHub_Ping closes a client that answers no ping, and keeps one that does for longer than
// the pong deadline.
func TestHub_Ping(t *testing.T) {
	hub, srv := startHub(t, ws.Config{PingInterval: 100 * time.Millisecond, PongWait: 500 * time.Millisecond})
	live := dial(t, srv, "", nil)
	var pings atomic.Int64
	live.SetPingHandler(func(data string) error {
		pings.Add(1)
		return live.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	got := make(chan registry.Event, 1)
	go func() {
		var e registry.Event
		if live.ReadJSON(&e) == nil {
			got <- e
		}
	}()
	_ = dialNoRead(t, srv.Listener.Addr().String())
	waitClients(t, hub, 2)
	waitClients(t, hub, 1) // the silent one is closed after PongWait
	waitFor(t, "ten pings", func() bool { return pings.Load() >= 10 })
	hub.Publish(event(1, registry.EventSolutionFound, `{}`))
	select {
	case e := <-got:
		if e.ID != 1 {
			t.Errorf("got %+v", e)
		}
	case <-time.After(patience):
		t.Fatal("the answering client was closed")
	}
}

func TestHub_BadRequest(t *testing.T) {
	_, withReplay := startHub(t, (&eventLog{}).config())
	_, noReplay := startHub(t, ws.Config{})
	for _, tc := range []struct {
		name, query string
		srvReplay   bool
	}{
		{"BadSince", "since=abc", true},
		{"NegativeSince", "since=-1", true},
		{"NoReplay", "since=1", false},
		{"LongToken", "token=" + strings.Repeat("a", 200), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := noReplay
			if tc.srvReplay {
				srv = withReplay
			}
			_, resp, err := websocket.DefaultDialer.DialContext(t.Context(), wsURL(srv, tc.query), nil)
			if err == nil || resp == nil || resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("got %v, want 400", err)
			}
		})
	}
}

func TestHub_Close(t *testing.T) {
	hub := ws.NewHub(ws.Config{})
	srv := httptestServer(t, hub)
	c := dial(t, srv, "", nil)
	waitClients(t, hub, 1)
	if err := hub.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	_, _, err := c.ReadMessage()
	if !websocket.IsCloseError(err, websocket.CloseGoingAway) {
		t.Errorf("got %v, want close 1001", err)
	}
	if s := hub.Status(); s.Clients != 0 || s.ConnectionsTotal != 1 {
		t.Errorf("status %+v", s)
	}
}

// TestHub_SlowClient_CloseReason overflows a client's queue while its writer is busy (here:
// replaying) and checks that the client is told why it is closed.
func TestHub_SlowClient_CloseReason(t *testing.T) {
	release := make(chan struct{})
	bounds := func(ctx context.Context) (registry.LogBounds, error) {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return registry.LogBounds{Epoch: epoch, Oldest: 1}, nil
	}
	replay := func(context.Context, int64, int64, int) ([]registry.Event, error) { return nil, nil }
	hub, srv := startHub(t, ws.Config{Replay: replay, Bounds: bounds, ReplayBuffer: 4})
	c := dial(t, srv, "since=0", nil)
	waitClients(t, hub, 1)
	for i := int64(1); i <= 5; i++ { // one more than the client may hold
		hub.Publish(event(i, registry.EventSolutionFound, `{}`))
	}
	if got := hub.Status().DroppedSlow; got != 1 {
		t.Fatalf("dropped %d, want 1", got)
	}
	close(release)
	_ = c.SetReadDeadline(time.Now().Add(patience))
	_, _, err := c.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation || !strings.Contains(ce.Text, "too slow") {
		t.Fatalf("got %v, want close 1008 \"too slow…\"", err)
	}
	waitClients(t, hub, 0)
}
