package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aviate-labs/agent-go/principal"
	"github.com/gorilla/websocket"

	"canistry/pkg/bus"
	"canistry/pkg/lifecycle/runtest"
	"canistry/pkg/registry"
	"canistry/pkg/store"
	"canistry/pkg/store/pgtest"
)

// checkFollower verifies that f received exactly want, in order, and no notice.
func checkFollower(t *testing.T, f *runtest.Follower, want []int64) {
	t.Helper()
	got := f.IDs()
	if !slices.Equal(got, want) {
		var missing, extra []int64
		have := map[int64]int{}
		for _, id := range got {
			have[id]++
		}
		for _, id := range want {
			if have[id] == 0 {
				missing = append(missing, id)
			}
			delete(have, id)
		}
		for id := range have {
			extra = append(extra, id)
		}
		t.Errorf("%s: %d events, want %d; missing %v; extra %v; strictly increasing: %v",
			f.Name, len(got), len(want), missing, extra, slices.IsSorted(got) && !hasDup(got))
	}
	if notes := f.Notes(); len(notes) > 0 {
		t.Errorf("%s: unexpected notices %v", f.Name, notes)
	}
}

func hasDup(ids []int64) bool {
	for i := 1; i < len(ids); i++ {
		if ids[i] == ids[i-1] {
			return true
		}
	}
	return false
}

// natsAt runs an embedded NATS server on a fixed port, so that it can be killed and started
// again where the notifiers reconnect.
func natsAt(t *testing.T, url string) *bus.Server {
	t.Helper()
	ns, err := bus.Serve(bus.ServerConfig{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	return ns
}

// TestFanout_TwoNotifiersGapless runs two notifier processes on one database with WebSocket
// clients on each, and drives concurrent intake on both through four faults: the bus killed
// mid-stream and started again, registry events logged behind the notifiers' back, one
// notifier killed -9 and restarted (its clients resume with their cursors). Every client must
// receive every logged event exactly once, in strictly increasing id order.
// On PostgreSQL the two notifiers are two hosts' worth of writers on one database.
func TestFanout_TwoNotifiersGapless(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { fanoutGapless(t, "") })
	t.Run("postgres", func(t *testing.T) { fanoutGapless(t, pgtest.New(t).Database(t)) })
}

// fanoutGapless is TestFanout_TwoNotifiersGapless on DATABASE_URL (empty: the SQLite file).
func fanoutGapless(t *testing.T, databaseURL string) {
	bin := buildNotifier(t)
	natsURL := fmt.Sprintf("nats://127.0.0.1:%d", runtest.FreePort(t, false))
	ns := natsAt(t, natsURL)
	dir := t.TempDir()
	env := notifierEnv(dir, natsURL)
	env["EVENT_LOG_POLL"] = "100ms"
	target := filepath.Join(dir, "registry.db")
	if databaseURL != "" {
		env["DATABASE_URL"], target = databaseURL, databaseURL
	}
	a, b := startProcess(t, bin, env), startProcess(t, bin, env)
	clients := []*runtest.Follower{
		runtest.Follow(t, "a1", a.addr, ""), runtest.Follow(t, "a2", a.addr, "0"),
		runtest.Follow(t, "b1", b.addr, ""), runtest.Follow(t, "b2", b.addr, "0"),
	}
	waitWSClients(t, a.addr, 2)
	waitWSClients(t, b.addr, 2)

	st, err := store.Open(t.Context(), target)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	// phase sends n distinct notifications, 3 copies each, spread over addrs by concurrent
	// senders and over 16 miners (within their rate limits); a copy whose notifier is gone is
	// sent again to the first (a replica's retry).
	ts := uint64(1_700_000_000_000_000_000)
	phase := func(n int, addrs ...string) {
		t.Helper()
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				for i := w; i < n; i += 8 {
					miner := principal.Principal{Raw: []byte{0, 0, 0, 0, 0, 0, 0, byte(i % 16), 1, 1}}.Encode()
					body := fmt.Appendf(nil, `{"event":"solution_found","miner_id":%q,"timestamp":%d,"data":{"token_id":%q}}`,
						miner, ts+uint64(i), e2eToken)
					for copyN := range 3 {
						addr := addrs[(i+copyN)%len(addrs)]
						r, err := send(addr, rawRequest(addr, e2eKey, body))
						if err != nil || !bytes.HasPrefix(r, []byte("HTTP/1.1 200")) {
							r, err = send(addrs[0], rawRequest(addrs[0], e2eKey, body))
						}
						if err != nil || !bytes.HasPrefix(r, []byte("HTTP/1.1 200")) {
							t.Errorf("copy of %d: %q %v", i, r, err)
							return
						}
					}
				}
			})
		}
		wg.Wait()
		ts += uint64(n)
	}

	phase(60, a.addr, b.addr)

	ns.Shutdown() // the bus dies mid-stream: the hubs fall back to polling the log
	phase(60, a.addr, b.addr)
	for i := range 3 { // registry events, as the api would log them, with no bus at all
		ann := &store.Announcement{Name: registry.EventCanisterRegistered, At: time.Now(),
			Data: func(r registry.CanisterRecord) any { return map[string]any{"canister_id": r.ID} }}
		id := registry.CanisterID([]string{"ryjl3-tyaaa-aaaaa-aaaba-cai", "mxzaz-hqaaa-aaaar-qaada-cai", "rrkah-fqaaa-aaaaa-aaaaq-cai"}[i])
		if _, err := st.CreateCanister(t.Context(), registry.Canister{ID: id, Kind: registry.KindOther}, ann); err != nil {
			t.Fatal(err)
		}
	}
	natsAt(t, natsURL) // and comes back where the notifiers reconnect
	phase(60, a.addr, b.addr)

	// Notifier b is killed -9 mid-stream; its clients resume on its successor with their cursors.
	if err := b.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = b.cmd.Wait()
	phase(40, a.addr)
	b2 := startProcess(t, bin, env)
	for _, c := range clients[2:] {
		c.Resume(t, b2.addr)
	}
	waitWSClients(t, b2.addr, 2)
	phase(60, a.addr, b2.addr)

	all, err := st.Events(t.Context(), 0, 0, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]int64, len(all))
	for i, e := range all {
		want[i] = e.ID
	}
	if len(want) != 283 {
		t.Fatalf("the log holds %d events, want 283 (280 notifications, 3 registrations)", len(want))
	}
	head := want[len(want)-1]
	for _, c := range clients {
		runtest.WaitFor(t, c.Name+" reached the log's head", func() bool { return c.Last() >= head })
	}
	for _, c := range clients {
		checkFollower(t, c, want)
	}
}

// TestFanout_RecreatedDatabase: registry events replay with ?since= like outcall events; a
// cursor from a database that was deleted and created again
// (its ids start at 1 again) gets replay.reset and then the new log from its beginning; a
// bare id beyond the new log's head too.
func TestFanout_RecreatedDatabase(t *testing.T) {
	natsURL := startNATS(t)
	dir := t.TempDir()
	env := notifierEnv(dir, natsURL)
	first := runtest.Start(t, run, env)
	runtest.WaitHTTP(t, first.URL("/readyz"), 200)
	ts := uint64(1_700_000_000_000_000_000)
	for i := range 4 {
		sentinel(t, first.Addr, ts+uint64(i))
	}
	// A registry event, logged as the api logs it, is replayable like the outcalls around it.
	st, err := store.Open(t.Context(), filepath.Join(dir, "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	ann := &store.Announcement{Name: registry.EventCanisterRegistered, At: time.Now(),
		Data: func(r registry.CanisterRecord) any { return map[string]any{"canister_id": r.ID} }}
	if _, err := st.CreateCanister(t.Context(), registry.Canister{ID: e2eToken, Kind: registry.KindToken}, ann); err != nil {
		t.Fatal(err)
	}
	_ = st.Close()
	old, err := wsRead(t, first.Addr, "since=2", 3)
	if err != nil {
		t.Fatal(err)
	}
	if old[0].ID != 3 || old[1].ID != 4 || old[2].ID != 5 || old[2].Event != registry.EventCanisterRegistered || !strings.Contains(string(old[2].Data), e2eToken) {
		t.Fatalf("replay since=2: %+v, want 3, 4 and the registration as 5", old)
	}
	cursor := old[2].Cursor
	if err := first.Stop(t); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"registry.db", "registry.db-wal", "registry.db-shm"} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	second := runtest.Start(t, run, env)
	runtest.WaitHTTP(t, second.URL("/readyz"), 200)
	for i := range 2 {
		sentinel(t, second.Addr, ts+uint64(100+i))
	}
	for _, since := range []string{cursor, "5"} {
		got, err := wsRead(t, second.Addr, "since="+since, 3)
		if err != nil {
			t.Fatal(err)
		}
		oldEpoch, _, _ := strings.Cut(cursor, ":")
		newEpoch, _, _ := strings.Cut(got[1].Cursor, ":")
		if got[0].Event != "replay.reset" || got[1].ID != 1 || got[2].ID != 2 || newEpoch == oldEpoch {
			t.Errorf("since=%s on the new database: %+v, want replay.reset then events 1 and 2 of the new epoch", since, got)
		}
	}
	if err := second.Stop(t); err != nil {
		t.Fatal(err)
	}
}

// wsRead connects with query and reads n messages.
func wsRead(t *testing.T, addr, query string, n int) ([]registry.Event, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), patience)
	defer cancel()
	c, _, err := websocket.DefaultDialer.DialContext(ctx, "ws://"+addr+"/ws?"+query, nil)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(patience))
	var out []registry.Event
	for len(out) < n {
		var e registry.Event
		if err := c.ReadJSON(&e); err != nil {
			return out, fmt.Errorf("after %d messages: %w", len(out), err)
		}
		out = append(out, e)
	}
	return out, nil
}
