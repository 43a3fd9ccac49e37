package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"canistry/pkg/bus"
	"canistry/pkg/httpapi"
	"canistry/pkg/httperror"
	"canistry/pkg/httpserver"
	"canistry/pkg/internal/testclock"
	"canistry/pkg/openapi/openapitest"
	"canistry/pkg/registry"
	"canistry/pkg/store"
)

const testAdminKey = "test-admin-key-0123456789"

// Principals used by the API tests (valid text with checksums).
const (
	idLedger = registry.CanisterID("ryjl3-tyaaa-aaaaa-aaaba-cai")
	idToken2 = registry.CanisterID("mxzaz-hqaaa-aaaar-qaada-cai")
	idMiner  = registry.CanisterID("rrkah-fqaaa-aaaaa-aaaaq-cai")
	idMiner2 = registry.CanisterID("zfcdd-tqaaa-aaaaq-aaaga-cai")
	idWallet = registry.CanisterID("qaa6y-5yaaa-aaaaa-aaafa-cai")
	idNone   = registry.CanisterID("aaaaa-aa")
)

// testAPI is the real api router over a real SQLite store and an embedded NATS server. Every
// response its client reads is validated against the OpenAPI document the router serves.
type testAPI struct {
	t       *testing.T
	URL     string
	Store   *store.Store
	Bus     *bus.Conn
	Clock   *testclock.Clock
	openapi *openapitest.Document
	mu      sync.Mutex
	seen    map[string]bool // operationId + " " + status validated
}

type apiOptions struct {
	adminKey    string
	notifierURL *url.URL
	localDev    bool
	db          string // a PostgreSQL URL; "": a fresh SQLite file
}

func newTestAPI(t *testing.T, opts apiOptions) *testAPI {
	t.Helper()
	clk := testclock.New(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
	db := opts.db
	if db == "" {
		db = filepath.Join(t.TempDir(), "registry.db")
	}
	st, err := store.Open(t.Context(), db, store.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	logger := slog.New(slog.DiscardHandler)
	ns, err := bus.Serve(bus.ServerConfig{URL: "nats://127.0.0.1:0", Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	conn, err := bus.Connect(bus.ConnectConfig{URL: ns.ClientURL(), Name: "api-test", Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	h := httpapi.NewAPIHandler(httpapi.APIDeps{
		Store: st, Bus: conn, Logger: logger, Now: clk.Now,
		Status: httpapi.StatusDeps{Store: st, Started: clk.Now(), AliveWithin: time.Minute,
			NATS: func() httpapi.NATSState {
				return httpapi.NATSState{URL: ns.ClientURL(), Connected: true, Status: "CONNECTED"}
			}},
		Probes:      httpserver.Probes{Ready: func(ctx context.Context) error { return st.Ping(ctx) }, Metrics: httpserver.NewMetricsRegistry(), Database: st.Backend()},
		AdminAPIKey: opts.adminKey,
		NotifierURL: opts.notifierURL,
		LocalDev:    opts.localDev,
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	a := &testAPI{t: t, URL: srv.URL, Store: st, Bus: conn, Clock: clk, seen: map[string]bool{}}
	a.openapi = openapitest.Fetch(t, srv.URL)
	return a
}

// reply is a read response.
type apiReply struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v.
func (r apiReply) JSON(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// ErrorCode returns the code of an error body.
func (r apiReply) ErrorCode(t *testing.T) string {
	t.Helper()
	var e httperror.Body
	r.JSON(t, &e)
	return e.Error.Code
}

// do sends a request (body: nil, string or JSON-encodable value) and validates the response
// against the OpenAPI document.
func (a *testAPI) do(method, path string, body any, header ...string) apiReply {
	a.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			a.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(a.t.Context(), method, a.URL+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] == "" {
			req.Header.Del(header[i])
		} else {
			req.Header.Set(header[i], header[i+1])
		}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	a.validate(req, res, raw)
	return apiReply{Status: res.StatusCode, Header: res.Header, Body: raw}
}

// admin sends a write with the admin key.
func (a *testAPI) admin(method, path string, body any) apiReply {
	a.t.Helper()
	return a.do(method, path, body, "Authorization", "Bearer "+testAdminKey)
}

// validate checks a response against the operation the document defines for the request.
// Requests the document does not route (unknown paths or methods) are not validated.
func (a *testAPI) validate(req *http.Request, res *http.Response, body []byte) {
	a.t.Helper()
	op, err := a.openapi.Check(a.t.Context(), req, res.StatusCode, res.Header, body)
	if errors.Is(err, openapitest.ErrNotRouted) {
		return
	}
	if err != nil {
		a.t.Errorf("%s %s → %d does not match openapi.json: %v\nbody: %.600s", req.Method, req.URL.Path, res.StatusCode, err, body)
	}
	a.mu.Lock()
	a.seen[op+" "+res.Status[:3]] = true
	a.mu.Unlock()
}

// events collects what the api publishes on the bus.
type busEvents struct {
	ev      chan registry.Event
	refresh chan bus.RefreshRequest
}

func (a *testAPI) listen() *busEvents {
	a.t.Helper()
	e := &busEvents{ev: make(chan registry.Event, 64), refresh: make(chan bus.RefreshRequest, 64)}
	s1, err := bus.Subscribe(a.Bus, bus.SubjectEventsAll, "", func(_ string, v registry.Event) { e.ev <- v })
	if err != nil {
		a.t.Fatal(err)
	}
	s2, err := bus.Subscribe(a.Bus, bus.SubjectRefresh, "", func(_ string, v bus.RefreshRequest) { e.refresh <- v })
	if err != nil {
		a.t.Fatal(err)
	}
	a.t.Cleanup(func() { _ = s1.Unsubscribe(); _ = s2.Unsubscribe() })
	if err := a.Bus.Flush(a.t.Context()); err != nil {
		a.t.Fatal(err)
	}
	return e
}

func (e *busEvents) nextEvent(t *testing.T) registry.Event {
	t.Helper()
	select {
	case v := <-e.ev:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("no event published")
	}
	return registry.Event{}
}

func (e *busEvents) nextRefresh(t *testing.T) bus.RefreshRequest {
	t.Helper()
	select {
	case v := <-e.refresh:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("no refresh requested")
	}
	return bus.RefreshRequest{}
}
