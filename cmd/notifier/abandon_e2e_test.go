package main

import (
	"bytes"
	"context"
	"strconv"
	"sync"
	"testing"

	"github.com/gorilla/websocket"

	"canistry/pkg/registry"
	"canistry/pkg/store"
	"canistry/pkg/store/pgtest"
	"canistry/pkg/store/storetest"
)

// outage is how a test makes the database unable to decide for longer than the decide timeout;
// it returns the function that ends the outage.
type outage func(t *testing.T, target string) (end func())

// TestIntake_NoCommitAfter503 is issue 21 §1 through the real binary, on two notifier processes
// sharing the database: while the database cannot decide (SQLite's write lock held by another
// connection with BEGIN IMMEDIATE, as `sqlite3 registry.db` would; PostgreSQL's notifications
// table locked by another session, or the server stopped), 13 copies of each of 3
// notifications get the one 503 "nothing was recorded". After the outage none is stored or
// fanned out on /ws, and a copy arriving then is a fresh decision: claimed, 200, copies 1.
func TestIntake_NoCommitAfter503(t *testing.T) {
	held := func(t *testing.T, target string) func() { return storetest.HoldWriteLock(t, target) }
	for _, tc := range []struct {
		name string
		db   func(t *testing.T) (string, outage)
	}{
		{"sqlite/WriteLockHeld", func(*testing.T) (string, outage) { return "", held }},
		{"postgres/TableLocked", func(t *testing.T) (string, outage) { return pgtest.New(t).Database(t), held }},
		{"postgres/ServerStopped", func(t *testing.T) (string, outage) {
			pg := pgtest.New(t)
			return pg.Database(t), func(t *testing.T, _ string) func() {
				if err := pg.Pause(context.Background()); err != nil {
					t.Fatal(err)
				}
				return func() {
					if err := pg.Resume(context.Background()); err != nil {
						t.Fatal(err)
					}
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			databaseURL, out := tc.db(t)
			noCommitAfter503(t, databaseURL, out)
		})
	}
}

func noCommitAfter503(t *testing.T, databaseURL string, out outage) {
	bin := buildNotifier(t)
	env := notifierEnv(t.TempDir(), startNATS(t))
	target := env["DATA_DIR"] + "/registry.db"
	if databaseURL != "" {
		env["DATABASE_URL"], target = databaseURL, databaseURL
	}
	a, b := startProcess(t, bin, env), startProcess(t, bin, env)
	addrs := []string{a.addr, b.addr}
	wsA, wsB := dialWS(t, a.addr), dialWS(t, b.addr)
	waitWSClients(t, a.addr, 1)
	waitWSClients(t, b.addr, 1)
	ts := uint64(1_700_000_000_000_000_000)

	end := out(t, target)
	resps := make([][]byte, 3*13)
	errs := make([]error, len(resps))
	var wg sync.WaitGroup
	for i := range resps {
		wg.Go(func() {
			addr := addrs[i%2]
			resps[i], errs[i] = sendWithin(3*patience, addr, rawRequest(addr, e2eKey, solutionBody(ts+uint64(i%3))))
		})
	}
	wg.Wait()
	end()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("copy %d: %v", i, err)
		}
	}
	checkIdentical(t, resps, "503 Service Unavailable")
	if !bytes.Contains(resps[0], []byte("nothing was recorded")) {
		t.Fatalf("503 reply %q", resps[0])
	}
	sentinel(t, a.addr, ts+100)
	sentinel(t, b.addr, ts+101)
	for name, c := range map[string]*websocket.Conn{"a": wsA, "b": wsB} {
		evs := readUntil(t, c, "sentinel")
		evs = append(evs, readUntil(t, c, "sentinel")...)
		if n := count(evs, registry.EventSolutionFound); n != 0 {
			t.Errorf("notifier %s: %d solution_found messages after the 503s, want 0", name, n)
		}
	}
	// A copy after the outage finds nothing recorded: a fresh claim, committed normally.
	r, err := sendWithin(3*patience, b.addr, rawRequest(b.addr, e2eKey, solutionBody(ts)))
	if err != nil || !bytes.HasPrefix(r, []byte("HTTP/1.1 200 ")) {
		t.Fatalf("copy after the outage: %q %v", r, err)
	}
	a.stop(t)
	b.stop(t)
	checkStored(t, target, ts)
}

// checkStored: of the three notifications only the one sent again after the outage is stored,
// with that one copy.
func checkStored(t *testing.T, target string, ts uint64) {
	t.Helper()
	st, err := store.Open(t.Context(), target)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for k := range uint64(3) {
		n, err := st.NotificationByKey(t.Context(), keyFor(ts+k))
		switch {
		case k == 0 && (err != nil || n.Copies != 1):
			t.Errorf("notification 0 after the outage: %+v %v, want stored with 1 copy", n, err)
		case k > 0 && registry.ErrorCode(err) != registry.ENOTFOUND:
			t.Errorf("notification %d answered 503 was stored: %+v %v", k, n, err)
		}
	}
}

func keyFor(ts uint64) string {
	return e2eMiner + ":" + strconv.FormatUint(ts, 10) + ":" + registry.EventSolutionFound
}
