package ws_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"canistry/pkg/ws"
)

// rawRequest sends one request line and headers on a new TCP connection (the target exactly
// as given, so that malformed queries reach the server unchanged) and reads the reply. With
// upgrade it is a complete WebSocket handshake.
func rawRequest(t *testing.T, addr, method, target string, upgrade bool) (*http.Response, []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := method + " " + target + " HTTP/1.1\r\nHost: " + addr + "\r\n"
	if upgrade {
		req += "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	} else {
		req += "Connection: close\r\n"
	}
	if _, err := io.WriteString(conn, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return resp, nil
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// errorShape checks the one error shape and returns its code and message.
func errorShape(t *testing.T, body []byte) (code, message string) {
	t.Helper()
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("body %q is not {\"error\":{\"code\",\"message\"}}: %v", body, err)
	}
	return e.Error.Code, e.Error.Message
}

// TestHub_QueryValidation: /ws validates its query like the REST api, before the upgrade: an
// unknown, repeated or malformed parameter is a 400 in the one error shape and no 101.
func TestHub_QueryValidation(t *testing.T) {
	_, srv := startHub(t, (&eventLog{}).config())
	_, noReplay := startHub(t, ws.Config{})
	addr := strings.TrimPrefix(srv.URL, "http://")
	const miner, token = "rrkah-fqaaa-aaaaa-aaaaq-cai", "ryjl3-tyaaa-aaaaa-aaaba-cai"
	for _, tc := range []struct {
		name, query string
		want        int    // 101 or 400
		msg         string // part of the 400's message
	}{
		{"None", "", 101, ""},
		{"AllFilters", "events=solution_found,canister.registered&token=" + token + "&miner=" + miner + "&since=0", 101, ""},
		{"EventsSpaces", "events=solution_found,%20mining_started", 101, ""},
		{"Cursor", "since=9f2c4a1be07d3c55:0", 101, ""},
		{"OtherEpoch", "since=0123456789abcdef:7", 101, ""},
		{"Unknown", "evnts=solution_found", 400, `unknown query parameter "evnts" (allowed: events, token, miner, since, last)`},
		{"UnknownEmpty", "foo", 400, `unknown query parameter "foo"`},
		{"Repeated", "token=" + token + "&token=" + token, 400, `query parameter "token" is given 2 times`},
		{"RepeatedSince", "since=1&since=2", 400, `query parameter "since" is given 2 times`},
		{"BadEscape", "events=%zz", 400, `the query string is malformed: invalid percent-encoding "%zz"`},
		{"BadEscapeKey", "%zz=1", 400, `invalid percent-encoding "%zz"`},
		{"Semicolon", "events=a;since=1", 400, "the query string is malformed"},
		{"EmptyEvents", "events=", 400, "events must be a comma-separated list of event names"},
		{"EmptyEventInList", "events=a,,b", 400, "events must be a comma-separated list"},
		{"BadEventName", "events=solution%20found", 400, "events must be a comma-separated list"},
		{"LongEventName", "events=" + strings.Repeat("e", 65), 400, "at most 64 characters"},
		{"BadToken", "token=not-a-principal", 400, "token: "},
		{"EmptyMiner", "miner=", 400, "miner: "},
		{"LongToken", "token=" + strings.Repeat("a", 200), 400, "token: "},
		{"BadSince", "since=abc", 400, "since must be a cursor"},
		{"NegativeSince", "since=-1", 400, "since must be a cursor"},
		{"EmptySince", "since=", 400, "since must be a cursor"},
		{"EmptyEpoch", "since=:5", 400, "since must be a cursor"},
		{"EpochOnly", "since=9f2c4a1be07d3c55:", 400, "since must be a cursor"},
		{"BadEpoch", "since=e-1:5", 400, "since must be a cursor"},
		{"NotHexEpoch", "since=zzzz:1", 400, "the epoch 16 lowercase hex digits"},
		{"ShortEpoch", "since=9f2c4a1b:1", 400, "since must be a cursor"},
		{"UpperEpoch", "since=9F2C4A1BE07D3C55:1", 400, "since must be a cursor"},
		{"TwoColons", "since=9f2c4a1be07d3c55:2:3", 400, "since must be a cursor"},
		{"PlusID", "since=9f2c4a1be07d3c55:+3", 400, "since must be a cursor"},
		{"Last", "last=50", 101, ""},
		{"LastZero", "last=0", 400, "last must be a number of events from 1 to 1000"},
		{"LastTooMany", "last=1001", 400, "last must be a number of events from 1 to 1000"},
		{"LastNotANumber", "last=x", 400, "last must be a number of events from 1 to 1000"},
		{"LastAndSince", "last=5&since=1", 400, "give since or last, not both"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target := "/ws"
			if tc.query != "" {
				target += "?" + tc.query
			}
			resp, body := rawRequest(t, addr, "GET", target, true)
			if resp.StatusCode != tc.want {
				t.Fatalf("GET %s = %d %s, want %d", target, resp.StatusCode, body, tc.want)
			}
			if tc.want != 400 {
				return
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			if code, msg := errorShape(t, body); code != "invalid" || !strings.Contains(msg, tc.msg) {
				t.Errorf("error %s %q, want invalid containing %q", code, msg, tc.msg)
			}
		})
	}
	t.Run("ReplayUnavailable", func(t *testing.T) {
		resp, body := rawRequest(t, strings.TrimPrefix(noReplay.URL, "http://"), "GET", "/ws?since=1", true)
		if code, _ := errorShape(t, body); resp.StatusCode != 400 || code != "unavailable" {
			t.Errorf("since on a hub without replay = %d %s, want 400 unavailable", resp.StatusCode, body)
		}
	})
}

// TestHub_Methods: OPTIONS is 204 with Allow; HEAD never upgrades and answers as a GET that is
// not a handshake would (400, same headers, no body); other methods are 405 with Allow.
func TestHub_Methods(t *testing.T) {
	_, srv := startHub(t, ws.Config{})
	addr := strings.TrimPrefix(srv.URL, "http://")

	resp, body := rawRequest(t, addr, "OPTIONS", "/ws", false)
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Allow") != "GET, HEAD, OPTIONS" || len(body) != 0 {
		t.Errorf("OPTIONS /ws = %d Allow %q %q, want 204 with Allow: GET, HEAD, OPTIONS", resp.StatusCode, resp.Header.Get("Allow"), body)
	}
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Error("OPTIONS /ws carries CORS headers; WebSocket origins are checked by the hub")
	}
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH"} {
		resp, body := rawRequest(t, addr, m, "/ws", false)
		if code, _ := errorShape(t, body); resp.StatusCode != http.StatusMethodNotAllowed || code != "invalid" || resp.Header.Get("Allow") != "GET, HEAD, OPTIONS" {
			t.Errorf("%s /ws = %d %s Allow %q, want 405 invalid with Allow", m, resp.StatusCode, body, resp.Header.Get("Allow"))
		}
	}

	get, getBody := rawRequest(t, addr, "GET", "/ws", false)
	if code, _ := errorShape(t, getBody); get.StatusCode != http.StatusBadRequest || code != "invalid" {
		t.Fatalf("GET /ws without a handshake = %d %s, want 400 invalid", get.StatusCode, getBody)
	}
	for _, upgrade := range []bool{false, true} {
		head, headBody := rawRequest(t, addr, "HEAD", "/ws", upgrade)
		if head.StatusCode != get.StatusCode || len(headBody) != 0 {
			t.Errorf("HEAD /ws (upgrade headers %v) = %d with %d body bytes, want %d and none", upgrade, head.StatusCode, len(headBody), get.StatusCode)
		}
		for _, k := range []string{"Content-Type", "Content-Length", "Upgrade"} {
			if head.Header.Get(k) != get.Header.Get(k) {
				t.Errorf("HEAD /ws (upgrade headers %v): %s %q, GET has %q", upgrade, k, head.Header.Get(k), get.Header.Get(k))
			}
		}
	}
	// A HEAD with a bad query gets the GET's 400 too.
	head, _ := rawRequest(t, addr, "HEAD", "/ws?nope=1", true)
	get, getBody = rawRequest(t, addr, "GET", "/ws?nope=1", true)
	if head.StatusCode != 400 || get.StatusCode != 400 || head.Header.Get("Content-Length") != get.Header.Get("Content-Length") {
		t.Errorf("HEAD/GET /ws?nope=1 = %d/%d (%s), Content-Length %q/%q", head.StatusCode, get.StatusCode, getBody,
			head.Header.Get("Content-Length"), get.Header.Get("Content-Length"))
	}
}
