package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"canistry/pkg/httpserver"
	"canistry/pkg/notify"
	"canistry/pkg/openapi"
	"canistry/pkg/openapi/openapitest"
	"canistry/pkg/ws"
)

// TestOpenAPI_NotifierEveryRoute calls every operation of the document the notifier serves,
// through its real handler (the real intake, store and hub), and validates each reply against
// that document: the probes, /openapi.json and its OPTIONS (the notifier's 405), the intake's
// accepted and refused outcalls, /ws refused without an upgrade, the client and the page.
func TestOpenAPI_NotifierEveryRoute(t *testing.T) {
	sh := newShared(t)
	inst := newInstance(t, sh, opts{})
	hub := ws.NewHub(ws.Config{Replay: inst.store.Events, Bounds: inst.store.EventLogBounds})
	h, err := notify.NewHandler(notify.HTTPDeps{Store: inst.store, Logger: slog.New(slog.DiscardHandler), Intake: inst.intake,
		WS: hub, WSStatus: hub.Status, Probes: httpserver.Probes{Ready: inst.store.Ping, Metrics: httpserver.NewMetricsRegistry(), Database: inst.store.Backend()}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = hub.Close(ctx)
		srv.Close()
	})
	doc := openapitest.Fetch(t, srv.URL)
	now := uint64(time.Now().UnixNano())
	seen := map[string]bool{}
	for _, c := range []struct {
		method, path string
		header       map[string]string
		body         []byte
		want         int
	}{
		{"GET", "/healthz", nil, nil, 200}, {"GET", "/readyz", nil, nil, 200}, {"GET", "/metrics", nil, nil, 200},
		{"GET", "/openapi.json", nil, nil, 200}, {"OPTIONS", "/openapi.json", nil, nil, 405},
		{"GET", "/ws?last=5", nil, nil, 400}, {"GET", "/ws/client.js", nil, nil, 200}, {"GET", "/ws/client.d.ts", nil, nil, 200},
		{"GET", "/ws-status", nil, nil, 200}, {"GET", "/test", nil, nil, 200},
		{"POST", "/miner-notifications", jsonHeaders(), solution(now), 200},
		{"POST", "/miner-notifications?source=replica", jsonHeaders(), solution(now + 1), 400},
		{"POST", "/miner-notifications", jsonHeaders("X-API-Key", ""), solution(now + 2), 401},
	} {
		req, err := http.NewRequestWithContext(t.Context(), c.method, srv.URL+c.path, bytes.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range c.header {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != c.want {
			t.Errorf("%s %s = %d %s, want %d", c.method, c.path, res.StatusCode, body, c.want)
		}
		op, err := doc.Check(t.Context(), req, res.StatusCode, res.Header, body)
		if errors.Is(err, openapitest.ErrNotRouted) {
			t.Error(err)
			continue
		}
		seen[op] = true
		if err != nil {
			t.Errorf("%s %s → %d does not match the notifier's document: %v\nbody: %.300s", c.method, c.path, res.StatusCode, err, body)
		}
	}
	var missing []string
	for path, item := range doc.Spec.Paths.Map() {
		if strings.HasPrefix(path, "/relay/") {
			continue // the relay's handler (pkg/relay, mounted by cmd/notifier); its openapi_test covers each operation
		}
		for method, op := range item.Operations() {
			if !seen[op.OperationID] {
				missing = append(missing, method+" "+path)
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("operations never exercised:\n%s", strings.Join(missing, "\n"))
	}
}

// TestOpenAPI_MinerIDPattern: the documented miner_id pattern never refuses a miner_id the
// intake accepts, and what it refuses the intake refuses too.
func TestOpenAPI_MinerIDPattern(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					Pattern              string
					MinLength, MaxLength int
				}
			}
		}
	}
	if err := json.Unmarshal(openapi.API, &doc); err != nil {
		t.Fatal(err)
	}
	for _, schema := range []string{"OutcallNotification", "Notification", "NotificationDetail"} {
		p := doc.Components.Schemas[schema].Properties["miner_id"]
		if p.Pattern == "" || p.MinLength == 0 || p.MaxLength == 0 {
			t.Fatalf("%s.miner_id has no pattern and length bounds: %+v", schema, p)
		}
		pattern := regexp.MustCompile(p.Pattern)
		for _, tc := range []struct {
			id     string
			accept bool
		}{
			{minerID, true}, {tokenID, true}, {"aaaaa-aa", true}, {"2vxsx-fae", true},
			{"6xkho-mqaaa-aaaaa-aabgq-cai", true},
			{"RYJL3-TYAAA-AAAAA-AAABA-CAI", false}, {"ryjl3_tyaaa_aaaaa_aaaba_cai", false}, {"ryjl3-tyaaa-aaaaa-aaaba-cai ", false},
			{"-ryjl3-tyaaa", false}, {"ryjl3--tyaaa-aaaaa-aaaba-cai", false}, {"abc", false}, {"", false},
			{"ryjl3-tyaaa-aaaaa-aaaba-caj", false}, // checksum: the pattern cannot tell, the intake does
		} {
			_, err := notify.ParseNotification(fmt.Appendf(nil, `{"event":"x","miner_id":%q,"timestamp":1,"data":{}}`, tc.id))
			if (err == nil) != tc.accept {
				t.Errorf("intake on %q: %v, want accepted %v", tc.id, err, tc.accept)
			}
			matches := pattern.MatchString(tc.id) && len(tc.id) >= p.MinLength && len(tc.id) <= p.MaxLength
			if err == nil && !matches {
				t.Errorf("%s.miner_id's pattern %s refuses %q, which the intake accepts", schema, p.Pattern, tc.id)
			}
		}
	}
}
