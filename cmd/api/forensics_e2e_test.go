package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"canistry/pkg/lifecycle/runtest"
)

// TestForensics_ThroughAPI is issue 21 §3 through the real binaries: 13 copies of one outcall
// sent to the api, which proxies them to the notifier (adding the peer it saw to
// X-Forwarded-For), from 9 IPv6 and 4 IPv4 sources as a load balancer in front of the api
// names them, two with another body. GET /notifications/{id} on the api then shows the copies
// by family, the distinct sources, the spread and the groups of identical bodies.
func TestForensics_ThroughAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binaries")
	}
	const key = "notify-key-0123456789"
	apiAddr, api, notifier := startBehindAPI(t, key, "HEARTBEAT_INTERVAL=1s")

	var first []byte
	for i := range 13 {
		data := `{"ticker":"TST"}`
		if i >= 11 {
			data = `{"ticker":"OTHER"}`
		}
		src := fmt.Sprintf("2001:db8::%d", i+1)
		if i >= 9 {
			src = []string{"192.0.2.10", "::ffff:192.0.2.10", "198.51.100.20", "198.51.100.21"}[i-9]
		}
		body := `{"event":"solution_found","miner_id":"ryjl3-tyaaa-aaaaa-aaaba-cai","timestamp":1700000000000000000,"data":` + data + `}`
		req := fmt.Appendf(nil, "POST /miner-notifications HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nX-API-Key: %s\r\n"+
			"Idempotency-Key: forensics-1\r\nX-Forwarded-For: %s\r\nContent-Length: %d\r\n\r\n%s", apiAddr, key, src, len(body), body)
		r := exchange(t, apiAddr, req)
		if i == 0 {
			first = r
		}
		if string(r) != string(first) || !strings.HasPrefix(string(r), "HTTP/1.1 200 ") {
			t.Fatalf("copy %d: %q (first %q)", i, r, first)
		}
	}
	notifier.stop(t) // writes its last copy counts and records
	var got struct {
		Copies          int            `json:"copies"`
		Diverged        bool           `json:"diverged"`
		CopiesRecorded  int            `json:"copies_recorded"`
		CopiesByFamily  map[string]int `json:"copies_by_family"`
		DistinctSources int            `json:"distinct_sources"`
		SpreadMs        int64          `json:"spread_ms"`
		BodyGroups      []struct {
			Hash  string `json:"hash"`
			Count int    `json:"count"`
		} `json:"body_groups"`
	}
	resp, err := http.Get("http://" + apiAddr + "/notifications/1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /notifications/1: %d %v", resp.StatusCode, err)
	}
	if got.Copies != 13 || !got.Diverged || got.CopiesRecorded != 13 || got.CopiesByFamily["ipv6"] != 9 || got.CopiesByFamily["ipv4"] != 4 ||
		got.DistinctSources != 12 || got.SpreadMs < 0 || len(got.BodyGroups) != 2 || got.BodyGroups[0].Count != 11 || got.BodyGroups[1].Count != 2 {
		t.Errorf("GET /notifications/1: %+v", got)
	}
	api.stop(t)
}

// exchange sends req on a new connection to addr and returns the raw reply.
func exchange(t *testing.T, addr string, req []byte) []byte {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second)) // a hang guard
	r, err := runtest.RoundTrip(c, bufio.NewReader(c), req)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
