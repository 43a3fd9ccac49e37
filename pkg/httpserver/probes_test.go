package httpserver_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"canistry/pkg/httpserver"
)

// TestProbeHandler: the probes every binary serves (the poller's whole HTTP surface): GET and
// HEAD alike, 503 when not ready, 404 and 405 in the one error shape.
func TestProbeHandler(t *testing.T) {
	ready := errors.New("database: busy")
	var notReady atomic.Bool
	h := httpserver.ProbeHandler(httpserver.Probes{Metrics: httpserver.NewMetricsRegistry(), Ready: func(context.Context) error {
		if notReady.Load() {
			return ready
		}
		return nil
	}}, slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		method, path string
		notReady     bool
		status       int
		body         string // substring
		allow        string
	}{
		{"GET", "/healthz", false, 200, `{"status":"ok"}`, ""},
		{"GET", "/readyz", false, 200, `{"status":"ready"}`, ""},
		{"GET", "/readyz", true, 503, `{"error":{"code":"unavailable","message":"not ready: database: busy"}}`, ""},
		{"GET", "/metrics", false, 200, "go_goroutines", ""},
		{"GET", "/nope", false, 404, `{"error":{"code":"not_found","message":"no route /nope"}}`, ""},
		{"POST", "/healthz", false, 405, `{"error":{"code":"invalid","message":"method POST is not allowed; use GET, HEAD"}}`, "GET, HEAD"},
	} {
		t.Run(tc.method+tc.path, func(t *testing.T) {
			notReady.Store(tc.notReady)
			get := do(t, tc.method, srv.URL+tc.path)
			if get.status != tc.status || !strings.Contains(get.body, tc.body) || get.header.Get("Allow") != tc.allow {
				t.Fatalf("%s %s = %d %q (Allow %q), want %d with %q", tc.method, tc.path, get.status, get.body, get.header.Get("Allow"), tc.status, tc.body)
			}
			if tc.status != 200 && get.header.Get("Content-Type") != "application/json" {
				t.Errorf("error Content-Type %q", get.header.Get("Content-Type"))
			}
			if tc.method != "GET" || tc.path == "/metrics" {
				return
			}
			head := do(t, "HEAD", srv.URL+tc.path)
			if head.status != get.status || head.body != "" || head.header.Get("Content-Length") != get.header.Get("Content-Length") {
				t.Errorf("HEAD = %d %q Content-Length %q; GET = %d Content-Length %q", head.status, head.body,
					head.header.Get("Content-Length"), get.status, get.header.Get("Content-Length"))
			}
		})
	}
}

type reply struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, method, url string) reply {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, string(b)}
}
