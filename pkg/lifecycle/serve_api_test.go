package lifecycle_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"canistry/pkg/bus"
	"canistry/pkg/httpapi"
	"canistry/pkg/lifecycle"
	"canistry/pkg/store"
)

const testAdminKey = "test-admin-key-0123456789"

// serveAPI serves the real api handler through Serve with its default limits.
func serveAPI(t *testing.T) *lifecycle.Server {
	t.Helper()
	st, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "registry.db"))
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
	conn, err := bus.Connect(bus.ConnectConfig{URL: ns.ClientURL(), Name: "serve-test", Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	h := httpapi.NewAPIHandler(httpapi.APIDeps{
		Store: st, Bus: conn, Logger: logger,
		Status: httpapi.StatusDeps{Store: st, Started: time.Now(), AliveWithin: time.Minute,
			NATS: func() httpapi.NATSState { return httpapi.NATSState{Connected: true} }},
		Probes:      httpapi.Probes{Ready: func(ctx context.Context) error { return st.Ping(ctx) }, Metrics: httpapi.NewMetricsRegistry()},
		AdminAPIKey: testAdminKey,
	})
	return startServer(t, h, nil)
}

// TestServe_APIBodyLimit sends the api bodies over its limit: a declared 10 GB body is refused
// from its Content-Length alone (the client sends no byte of it and waits; before, the api
// waited for the body until the read timeout), with or without Expect: 100-continue; a chunked
// body is cut off at the limit.
func TestServe_APIBodyLimit(t *testing.T) {
	srv := serveAPI(t)
	head := "POST /canisters HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + testAdminKey + "\r\nContent-Type: application/json\r\n"
	huge := strings.Repeat(`{"pad":"`+strings.Repeat("x", 4096)+`"}`, 1)
	chunk := fmt.Sprintf("%x\r\n%s\r\n", len(huge), huge)
	cases := []struct{ name, req string }{
		{"DeclaredHuge", head + "Content-Length: 10000000000\r\n\r\n"},
		{"DeclaredHugeExpectContinue", head + "Content-Length: 10000000000\r\nExpect: 100-continue\r\n\r\n"},
		{"DeclaredJustOver", head + fmt.Sprintf("Content-Length: %d\r\n\r\n", httpapi.MaxBodyBytes+1)},
		{"Chunked", head + "Transfer-Encoding: chunked\r\n\r\n" + strings.Repeat(chunk, httpapi.MaxBodyBytes/len(huge)+2) + "0\r\n\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, srv, nil)
			go func() { _, _ = io.WriteString(c, tc.req) }()
			br := bufio.NewReader(c)
			if status, code := readJSONError(t, br); status != http.StatusRequestEntityTooLarge || code != "too_large" {
				t.Errorf("got %d %s, want 413 too_large", status, code)
			}
			expectClosed(t, br)
		})
	}
}
