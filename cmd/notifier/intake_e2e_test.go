package main

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/gorilla/websocket"

	"canistry/pkg/lifecycle/runtest"
	"canistry/pkg/store"
	"canistry/pkg/store/pgtest"
)

// TestIntake_TwoProcesses runs two notifier processes on one database file and one bus, and
// spreads a 34-copy storm over both: identical replies, one row, and one WebSocket message on
// each notifier's /ws. On PostgreSQL the two processes are two hosts on one database.
func TestIntake_TwoProcesses(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { intakeTwoProcesses(t, "") })
	t.Run("postgres", func(t *testing.T) { intakeTwoProcesses(t, pgtest.New(t).Database(t)) })
}

// intakeTwoProcesses is TestIntake_TwoProcesses on DATABASE_URL (empty: the SQLite file).
func intakeTwoProcesses(t *testing.T, databaseURL string) {
	bin := buildNotifier(t)
	natsURL := startNATS(t)
	env := notifierEnv(t.TempDir(), natsURL)
	target := filepath.Join(env["DATA_DIR"], "registry.db")
	if databaseURL != "" {
		env["DATABASE_URL"], target = databaseURL, databaseURL
	}
	a, b := startProcess(t, bin, env), startProcess(t, bin, env)
	wsA, wsB := dialWS(t, a.addr), dialWS(t, b.addr)
	waitWSClients(t, a.addr, 1)
	waitWSClients(t, b.addr, 1)

	ts := uint64(1_700_000_000_000_000_000)
	resps := storm(t, []string{a.addr, b.addr}, e2eKey, solutionBody(ts), 34)
	checkIdentical(t, resps, "200 OK")
	sentinel(t, a.addr, ts+1)
	for name, c := range map[string]*websocket.Conn{"a": wsA, "b": wsB} {
		if n := count(readUntil(t, c, "sentinel"), "solution_found"); n != 1 {
			t.Errorf("notifier %s: %d solution_found messages, want 1", name, n)
		}
	}
	// Rejections come from the real wiring too (httperror.Status).
	rej := storm(t, []string{a.addr, b.addr}, "wrong-key-0123456789abc", solutionBody(ts), 13)
	checkIdentical(t, rej, "401 Unauthorized")

	a.stop(t) // both write their last copy counts on the way out
	b.stop(t)
	st, err := store.Open(t.Context(), target)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n, err := st.NotificationByKey(t.Context(), e2eMiner+":1700000000000000000:solution_found")
	if err != nil {
		t.Fatal(err)
	}
	evs, err := st.Events(t.Context(), 0, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || n.Copies != 34 {
		t.Errorf("%d rows (want 2: the storm and the sentinel), copies %d (want 34)", len(evs), n.Copies)
	}
}

// TestIntake_RunRestart runs the notifier's run twice on the same database: copies before and
// after the restart get identical replies and make one row with every copy counted.
func TestIntake_RunRestart(t *testing.T) {
	natsURL := startNATS(t)
	env := notifierEnv(t.TempDir(), natsURL)
	ts := uint64(1_700_000_000_000_000_000)

	first := runtest.Start(t, run, env)
	runtest.WaitHTTP(t, first.URL("/readyz"), 200)
	resps := storm(t, []string{first.Addr}, e2eKey, solutionBody(ts), 7)
	if err := first.Stop(t); err != nil {
		t.Fatal(err)
	}
	second := runtest.Start(t, run, env)
	runtest.WaitHTTP(t, second.URL("/readyz"), 200)
	c := dialWS(t, second.Addr)
	waitWSClients(t, second.Addr, 1)
	resps = append(resps, storm(t, []string{second.Addr}, e2eKey, solutionBody(ts), 6)...)
	checkIdentical(t, resps, "200 OK")
	sentinel(t, second.Addr, ts+1)
	if n := count(readUntil(t, c, "sentinel"), "solution_found"); n != 0 {
		t.Errorf("%d solution_found messages after the restart, want 0 (it was fanned out before)", n)
	}
	if err := second.Stop(t); err != nil {
		t.Fatal(err)
	}

	st, err := store.Open(t.Context(), filepath.Join(env["DATA_DIR"], "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n, err := st.NotificationByKey(t.Context(), e2eMiner+":1700000000000000000:solution_found")
	if err != nil {
		t.Fatal(err)
	}
	if n.Copies != 13 || !bytes.Contains(resps[0], n.ResponseBody) {
		t.Errorf("copies %d (want 13), stored reply %q", n.Copies, n.ResponseBody)
	}
	for _, p := range []*runtest.Proc{first, second} {
		if errs := p.Errors(); len(errs) > 0 {
			t.Errorf("errors logged: %v", errs)
		}
	}
}
