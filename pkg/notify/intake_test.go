package notify_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"canistry/pkg/bus"
	"canistry/pkg/internal/testclock"
	"canistry/pkg/notify"
	"canistry/pkg/registry"
)

func keyOf(ts uint64, event string) string { return fmt.Sprintf("%s:%d:%s", minerID, ts, event) }

func acceptedBody(key string) string {
	sum := sha256.Sum256([]byte(key))
	return `{"status":"received","dedup_key_sha256":"` + hex.EncodeToString(sum[:]) + `"}`
}

// TestIntake_Storm sends 13 and 34 jittered concurrent copies: every copy gets the same bytes,
// one row records all copies, and one WebSocket message goes out.
func TestIntake_Storm(t *testing.T) {
	for _, n := range []int{13, 34} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			sh := newShared(t)
			inst := newInstance(t, sh, opts{})
			c := wsClient(t, sh)
			ts := uint64(1_700_000_000_000_000_000)
			resps := storm(t, []string{inst.addr}, func(addr string, _ int) []byte {
				return rawRequest(addr, jsonHeaders(), solution(ts))
			}, n)
			checkIdentical(t, resps, "200 OK")
			body := acceptedBody(keyOf(ts, registry.EventSolutionFound))
			want := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\nContent-Type: application/json\r\n\r\n%s", len(body), body)
			if string(resps[0]) != want {
				t.Errorf("response\n%q\nwant\n%q", resps[0], want)
			}
			row := stored(t, inst, keyOf(ts, registry.EventSolutionFound))
			if row.Copies != n || row.Diverged || rowCount(t, inst.store) != 1 {
				t.Errorf("copies %d diverged %v rows %d; want %d false 1", row.Copies, row.Diverged, rowCount(t, inst.store), n)
			}
			sentinel(t, inst.addr, ts+1)
			evs := readUntil(t, c, isSentinel)
			if got := countEvents(evs, registry.EventSolutionFound); got != 1 || evs[0].ID != row.ID || evs[0].MinerID != minerID {
				t.Errorf("websocket: %d solution_found messages (%+v), want exactly one with id %d", got, evs, row.ID)
			}
		})
	}
}

// TestIntake_Restart sends half the copies to one instance, stops it, and sends the rest to a
// new instance on the same database, as across a notifier restart.
func TestIntake_Restart(t *testing.T) {
	sh := newShared(t)
	c := wsClient(t, sh)
	ts := uint64(1_700_000_000_000_000_000)
	req := func(addr string, _ int) []byte { return rawRequest(addr, jsonHeaders(), solution(ts)) }
	first := newInstance(t, sh, opts{})
	resps := storm(t, []string{first.addr}, req, 7)
	first.stop()
	second := newInstance(t, sh, opts{})
	resps = append(resps, storm(t, []string{second.addr}, req, 6)...)
	checkIdentical(t, resps, "200 OK")
	row := stored(t, second, keyOf(ts, registry.EventSolutionFound))
	if row.Copies != 13 || rowCount(t, second.store) != 1 {
		t.Errorf("copies %d rows %d, want 13 and 1", row.Copies, rowCount(t, second.store))
	}
	sentinel(t, second.addr, ts+1)
	if got := countEvents(readUntil(t, c, isSentinel), registry.EventSolutionFound); got != 1 {
		t.Errorf("%d websocket messages, want 1", got)
	}
}

// TestIntake_TwoInstances spreads 34 copies over two live instances sharing one database file.
// (cmd/notifier tests the same with two real processes.)
func TestIntake_TwoInstances(t *testing.T) {
	sh := newShared(t)
	c := wsClient(t, sh)
	a, b := newInstance(t, sh, opts{}), newInstance(t, sh, opts{})
	ts := uint64(1_700_000_000_000_000_000)
	resps := storm(t, []string{a.addr, b.addr}, func(addr string, _ int) []byte {
		return rawRequest(addr, jsonHeaders("Idempotency-Key", "storm-1"), solution(ts))
	}, 34)
	checkIdentical(t, resps, "200 OK")
	if err := a.intake.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	row := stored(t, b, "idem:storm-1")
	if row.Copies != 34 || rowCount(t, a.store) != 1 {
		t.Errorf("copies %d rows %d, want 34 and 1", row.Copies, rowCount(t, a.store))
	}
	sentinel(t, a.addr, ts+1)
	if got := countEvents(readUntil(t, c, isSentinel), registry.EventSolutionFound); got != 1 {
		t.Errorf("%d websocket messages, want 1", got)
	}
}

// TestIntake_WindowElapsed: within the window a copy is a duplicate; after it, the same key is
// a new notification (with the same reply, a function of the key).
func TestIntake_WindowElapsed(t *testing.T) {
	sh := newShared(t)
	clk := testclock.New(time.UnixMilli(1_700_000_000_000))
	inst := newInstance(t, sh, opts{clock: clk, window: time.Minute})
	c := wsClient(t, sh)
	ts := uint64(1_700_000_000_000_000_000)
	req := rawRequest(inst.addr, jsonHeaders(), solution(ts))
	var resps [][]byte
	for _, step := range []time.Duration{0, 59 * time.Second, time.Second, 30 * time.Second} {
		clk.Advance(step)
		r, err := send(inst.addr, req)
		if err != nil {
			t.Fatal(err)
		}
		resps = append(resps, r)
	}
	checkIdentical(t, resps, "200 OK")
	if got := rowCount(t, inst.store); got != 2 {
		t.Fatalf("%d rows, want 2 (one per window)", got)
	}
	if row := stored(t, inst, keyOf(ts, registry.EventSolutionFound)); row.Copies != 2 {
		t.Errorf("second window: copies %d, want 2", row.Copies)
	}
	sentinel(t, inst.addr, ts+1)
	if got := countEvents(readUntil(t, c, isSentinel), registry.EventSolutionFound); got != 2 {
		t.Errorf("%d websocket messages, want 2", got)
	}
}

// TestIntake_Rejections: every rejection class, 13 copies each, is byte-identical and stores
// nothing.
func TestIntake_Rejections(t *testing.T) {
	sh := newShared(t)
	inst := newInstance(t, sh, opts{})
	ts := uint64(1_700_000_000_000_000_000)
	good := solution(ts)
	huge := notification("solution_found", ts, `{"pad":"`+strings.Repeat("x", notify.MaxBodyBytes)+`"}`)
	tests := []struct {
		name   string
		header map[string]string
		body   []byte
		status string
		code   string
	}{
		{"MissingKey", jsonHeaders("X-API-Key", ""), good, "401 Unauthorized", registry.EUNAUTHORIZED},
		{"UnknownKey", jsonHeaders("X-API-Key", "not-a-configured-key-1234"), good, "401 Unauthorized", registry.EUNAUTHORIZED},
		{"MalformedJSON", jsonHeaders(), []byte(`{"event":"solution_found",`), "400 Bad Request", registry.EINVALID},
		{"NotAnObject", jsonHeaders(), []byte(`[1,2]`), "400 Bad Request", registry.EINVALID},
		{"BadPrincipal", jsonHeaders(), bytes.Replace(good, []byte(minerID), []byte("aaaaa-bbbbb-ccccc-ddddd-eeeee"), 1), "400 Bad Request", registry.EINVALID},
		{"MissingEvent", jsonHeaders(), []byte(`{"miner_id":"` + minerID + `","timestamp":1,"data":{}}`), "400 Bad Request", registry.EINVALID},
		{"MissingTimestamp", jsonHeaders(), []byte(`{"event":"x","miner_id":"` + minerID + `","data":{}}`), "400 Bad Request", registry.EINVALID},
		{"BadIdempotencyKey", jsonHeaders("Idempotency-Key", strings.Repeat("k", 300)), good, "400 Bad Request", registry.EINVALID},
		{"TooLarge", jsonHeaders(), huge, "413 Request Entity Too Large", registry.ETOOLARGE},
		{"NotJSON", jsonHeaders("Content-Type", "text/plain"), good, "415 Unsupported Media Type", registry.EUNSUPPORTED},
		{"NoContentType", jsonHeaders("Content-Type", ""), good, "415 Unsupported Media Type", registry.EUNSUPPORTED},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resps := storm(t, []string{inst.addr}, func(addr string, _ int) []byte { return rawRequest(addr, tc.header, tc.body) }, 13)
			checkIdentical(t, resps, tc.status)
			t.Logf("%q", resps[0])
			if !bytes.Contains(resps[0], []byte(`{"error":{"code":"`+tc.code+`","message":"`)) {
				t.Errorf("body: %q", resps[0])
			}
		})
	}
	if got := rowCount(t, inst.store); got != 0 {
		t.Errorf("%d rows stored by rejected requests", got)
	}
}

// TestIntake_Diverged: copies with the same key but different bodies all get the first copy's
// reply; the row says it diverged.
func TestIntake_Diverged(t *testing.T) {
	sh := newShared(t)
	inst := newInstance(t, sh, opts{})
	ts := uint64(1_700_000_000_000_000_000)
	req := func(addr string, i int) []byte {
		body := solution(ts)
		if i%3 == 1 {
			body = solution(ts + 1) // a replica that disagrees
		}
		return rawRequest(addr, jsonHeaders("Idempotency-Key", "div-1"), body)
	}
	resps := storm(t, []string{inst.addr}, req, 1) // the first copy, alone
	resps = append(resps, storm(t, []string{inst.addr}, req, 12)...)
	checkIdentical(t, resps, "200 OK")
	row := stored(t, inst, "idem:div-1")
	if row.Copies != 13 || !row.Diverged {
		t.Errorf("copies %d diverged %v, want 13 true", row.Copies, row.Diverged)
	}
}

// TestIntake_RateLimit: copies never spend tokens; a new notification over the limit is 429;
// a copy of a stored key is answered even when its miner is over the limit.
func TestIntake_RateLimit(t *testing.T) {
	sh := newShared(t)
	clk := testclock.New(time.UnixMilli(1_700_000_000_000))
	limits := notify.Limits{PerKey: 1000, PerKeyBurst: 1000, PerMiner: 0.001, PerMinerBurst: 2}
	inst := newInstance(t, sh, opts{clock: clk, limits: limits})
	ts := uint64(1_700_000_000_000_000_000)
	for i := range uint64(2) { // two storms of 34 copies: two tokens
		resps := storm(t, []string{inst.addr}, func(addr string, _ int) []byte { return rawRequest(addr, jsonHeaders(), solution(ts+i)) }, 34)
		checkIdentical(t, resps, "200 OK")
	}
	limited := storm(t, []string{inst.addr}, func(addr string, _ int) []byte { return rawRequest(addr, jsonHeaders(), solution(ts+2)) }, 13)
	checkIdentical(t, limited, "429 Too Many Requests")

	// A restarted instance has a cold cache and a fresh limiter: spend its tokens, then a copy
	// of the first notification must still get its stored reply from the database.
	inst.stop()
	again := newInstance(t, sh, opts{clock: clk, limits: limits})
	for _, ts := range []uint64{ts + 10, ts + 11} {
		if r, _ := send(again.addr, rawRequest(again.addr, jsonHeaders(), solution(ts))); !bytes.HasPrefix(r, []byte("HTTP/1.1 200")) {
			t.Fatalf("spending tokens: %q", r)
		}
	}
	r, err := send(again.addr, rawRequest(again.addr, jsonHeaders(), solution(ts)))
	if err != nil || !bytes.HasSuffix(r, []byte(acceptedBody(keyOf(ts, registry.EventSolutionFound)))) {
		t.Errorf("copy of a stored key over the limit: %q %v", r, err)
	}
}

// TestIntake_Effects: token_connected and solution_found ask for a refresh of the token and the
// miner; other events do not; unknown events are stored and fanned out unchanged.
func TestIntake_Effects(t *testing.T) {
	sh := newShared(t)
	inst := newInstance(t, sh, opts{})
	c := wsClient(t, sh)
	refreshes := make(chan string, 16)
	_, err := bus.Subscribe(connect(t, sh.natsURL), bus.SubjectRefresh, "", func(_ string, r bus.RefreshRequest) {
		refreshes <- r.CanisterID
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := uint64(1_700_000_000_000_000_000)
	unknownData := `{"nested": {"list": [1, 2.5, "x"]}, "token_id": "` + tokenID + `"}`
	for i, body := range [][]byte{
		notification("mining_started", ts, `{"token_id":"`+tokenID+`","miner_id":"`+minerID+`"}`),
		notification("galaxy.exploded", ts+1, unknownData),
		notification("token_connected", ts+2, `{"token_id":"`+tokenID+`","miner_id":"`+minerID+`","chunk_size":100}`),
	} {
		if r, err := send(inst.addr, rawRequest(inst.addr, jsonHeaders(), body)); err != nil || !bytes.HasPrefix(r, []byte("HTTP/1.1 200")) {
			t.Fatalf("notification %d: %q %v", i, r, err)
		}
	}
	for _, want := range []string{tokenID, minerID} {
		select {
		case got := <-refreshes:
			if got != want {
				t.Errorf("refresh %s, want %s (first the token, then the miner of token_connected)", got, want)
			}
		case <-time.After(patience):
			t.Fatal("no refresh request")
		}
	}
	evs := readUntil(t, c, func(e registry.Event) bool { return e.Event == "token_connected" })
	if len(evs) != 3 || evs[1].Event != "galaxy.exploded" || string(evs[1].Data) != mustJSON(t, json.RawMessage(unknownData)) {
		t.Errorf("events %+v", evs)
	}
	row := stored(t, inst, keyOf(ts+1, "galaxy.exploded"))
	if string(row.Data) != unknownData {
		t.Errorf("stored data %s, want %s unchanged", row.Data, unknownData)
	}
}

// TestIntake_Retention: the sweep deletes notifications older than the retention and keeps the
// recent ones.
func TestIntake_Retention(t *testing.T) {
	sh := newShared(t)
	clk := testclock.New(time.UnixMilli(1_700_000_000_000))
	inst := newInstance(t, sh, opts{clock: clk, window: time.Minute, retention: 24 * time.Hour})
	ts := uint64(1_700_000_000_000_000_000)
	if _, err := send(inst.addr, rawRequest(inst.addr, jsonHeaders(), solution(ts))); err != nil {
		t.Fatal(err)
	}
	clk.Advance(25 * time.Hour)
	if _, err := send(inst.addr, rawRequest(inst.addr, jsonHeaders(), solution(ts+1))); err != nil {
		t.Fatal(err)
	}
	inst.intake.Sweep(t.Context())
	if got := rowCount(t, inst.store); got != 1 {
		t.Fatalf("%d rows after the sweep, want 1 (the day-old one pruned)", got)
	}
	if _, err := inst.store.NotificationByKey(t.Context(), keyOf(ts+1, registry.EventSolutionFound)); err != nil {
		t.Fatalf("the recent notification was pruned: %v", err)
	}
}

// TestIntake_ServerFailureOneReply: when the database fails under the intake, every copy of an
// outcall, however its decision failed, gets the one fixed 503 (notify.UnavailableReply), the
// reply a load balancer is told to send when no notifier is left.
func TestIntake_ServerFailureOneReply(t *testing.T) {
	sh := newShared(t)
	inst := newInstance(t, sh, opts{})
	if err := inst.store.Close(); err != nil {
		t.Fatal(err)
	}
	status, body := notify.UnavailableReply()
	want := fmt.Sprintf("HTTP/1.1 %d Service Unavailable\r\nContent-Length: %d\r\nContent-Type: application/json\r\n\r\n%s", status, len(body), body)
	for i := range 3 {
		resps := storm(t, []string{inst.addr}, func(addr string, _ int) []byte {
			return rawRequest(addr, jsonHeaders(), solution(uint64(1_700_000_000_000_000_000+i)))
		}, 13)
		for j, r := range resps {
			if string(r) != want {
				t.Fatalf("storm %d copy %d: %q, want %q", i, j, r, want)
			}
		}
	}
	if !strings.Contains(string(body), `"code":"unavailable"`) {
		t.Errorf("unavailable reply %s is not in the one error shape", body)
	}
}
