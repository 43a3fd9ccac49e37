package main

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"

	"canistry/pkg/lifecycle/runtest"
	"canistry/pkg/store"
)

// A notification with a key twice in one object, top level or inside data, is refused with 400
// invalid by the real notifier, identically for every copy, and nothing is recorded for it (a
// later well-formed copy of the same key is the first one).
func TestIntake_DuplicateKeysRefused(t *testing.T) {
	env := notifierEnv(t.TempDir(), startNATS(t))
	p := runtest.Start(t, run, env)
	runtest.WaitHTTP(t, p.URL("/readyz"), 200)
	const ts = 1_700_000_000_000_000_000
	for _, body := range []string{
		fmt.Sprintf(`{"event":"solution_found","event":"custom","miner_id":%q,"timestamp":%d,"data":{}}`, e2eMiner, ts),
		fmt.Sprintf(`{"event":"solution_found","Event":"custom","miner_id":%q,"timestamp":%d,"data":{}}`, e2eMiner, ts),
		fmt.Sprintf(`{"event":"solution_found","miner_id":%q,"timestamp":%d,"data":{"nonce":1,"nonce":2}}`, e2eMiner, ts),
	} {
		resps := storm(t, []string{p.Addr}, e2eKey, []byte(body), 3)
		checkIdentical(t, resps, "400 Bad Request")
		if !bytes.Contains(resps[0], []byte(`"code":"invalid"`)) || !bytes.Contains(resps[0], []byte("appears twice")) {
			t.Errorf("%s: reply %s, want invalid naming the repeated key", body, resps[0])
		}
	}
	// Nothing was recorded for them: the well-formed notification has only its own copies.
	resps := storm(t, []string{p.Addr}, e2eKey, solutionBody(ts), 2)
	checkIdentical(t, resps, "200 OK")
	if err := p.Stop(t); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(t.Context(), filepath.Join(env["DATA_DIR"], "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n, err := st.NotificationByKey(t.Context(), fmt.Sprintf("%s:%d:solution_found", e2eMiner, uint64(ts)))
	if err != nil || n.Copies != 2 {
		t.Errorf("stored notification: copies %d, %v; want 2", n.Copies, err)
	}
}

// The real notifier refuses an encoded slash in a path and query parameters on the intake
// (writes take none, as on the api): 400 invalid in the one error shape.
func TestRun_PathAndQueryRefused(t *testing.T) {
	p := runtest.Start(t, run, notifierEnv(t.TempDir(), startNATS(t)))
	runtest.WaitHTTP(t, p.URL("/readyz"), 200)
	key := []string{"X-API-Key", e2eKey, "Content-Type", "application/json"}
	slash := "encoded slash"
	runtest.CheckRefusals(t, p.URL(""), []runtest.Refusal{
		{Method: "GET", Path: "/ws%2F", Want: 400, Code: "invalid", Says: slash},
		{Method: "GET", Path: "/healthz%2f", Want: 400, Code: "invalid", Says: slash},
		{Method: "POST", Path: "/miner-notifications%2F", Header: key, Body: string(solutionBody(1_700_000_000_000_000_000)), Want: 400, Code: "invalid", Says: slash},
		{Method: "GET", Path: "/ws/client.js%2F", Want: 400, Code: "invalid", Says: slash},
		{Method: "POST", Path: "/miner-notifications?source=replica", Header: key, Body: string(solutionBody(1_700_000_000_000_000_001)),
			Want: 400, Code: "invalid", Says: `unknown query parameter "source"`},
		{Method: "GET", Path: "/ws?lst=5", Want: 400, Code: "invalid", Says: `unknown query parameter "lst"`},
	})
}
