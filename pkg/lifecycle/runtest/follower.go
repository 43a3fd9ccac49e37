package runtest

import (
	"slices"
	"sync"
	"testing"

	"github.com/gorilla/websocket"

	"canistry/pkg/registry"
)

// Follower is a WebSocket client of a notifier's /ws that records every logged event it
// receives (and the notices, id 0, apart) and can resume on another notifier from the last
// cursor it saw, as a real client does after its server died.
type Follower struct {
	Name string

	mu     sync.Mutex
	ids    []int64
	notes  []string // events that are not in the log: replay.gap, replay.reset
	cursor string
	done   chan struct{} // closed when the current connection ends
}

// Follow connects to ws://addr/ws (with ?since= when since is set) and starts reading.
func Follow(tb testing.TB, name, addr, since string) *Follower {
	tb.Helper()
	f := &Follower{Name: name}
	f.connect(tb, addr, since)
	return f
}

func (f *Follower) connect(tb testing.TB, addr, since string) {
	tb.Helper()
	url := "ws://" + addr + "/ws"
	if since != "" {
		url += "?since=" + since
	}
	conn, _, err := websocket.DefaultDialer.DialContext(tb.Context(), url, nil)
	if err != nil {
		tb.Fatalf("%s: dial %s: %v", f.Name, url, err)
	}
	tb.Cleanup(func() { _ = conn.Close() })
	done := make(chan struct{})
	f.mu.Lock()
	f.done = done
	f.mu.Unlock()
	go func() {
		defer close(done)
		for {
			var e registry.Event
			if err := conn.ReadJSON(&e); err != nil {
				return
			}
			f.mu.Lock()
			if e.ID == 0 {
				f.notes = append(f.notes, e.Event)
			} else {
				f.ids = append(f.ids, e.ID)
				f.cursor = e.Cursor
			}
			f.mu.Unlock()
		}
	}()
}

// Resume waits for the current connection to end (its notifier died) and reconnects to addr
// with the last cursor received. A follower that received no logged event has no cursor, and
// without one a new connection only hears what comes after it: that fails tb at once, so a
// test makes sure of a first event before it kills the notifier.
func (f *Follower) Resume(tb testing.TB, addr string) {
	tb.Helper()
	f.mu.Lock()
	done := f.done
	f.mu.Unlock()
	WaitFor(tb, f.Name+"'s connection to end", func() bool {
		select {
		case <-done:
			return true
		default:
			return false
		}
	})
	f.mu.Lock()
	cursor := f.cursor
	f.mu.Unlock()
	if cursor == "" {
		tb.Fatalf("%s cannot resume: it received no logged event, so it has no cursor", f.Name)
	}
	f.connect(tb, addr, cursor)
}

// IDs returns the ids of the logged events received so far, in arrival order.
func (f *Follower) IDs() []int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.ids)
}

// Last is the id of the last logged event received (0 before any).
func (f *Follower) Last() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.ids) == 0 {
		return 0
	}
	return f.ids[len(f.ids)-1]
}

// Notes returns the notices (events with id 0) received so far.
func (f *Follower) Notes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.notes)
}
