package notify_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"canistry/pkg/httpserver"
	"canistry/pkg/lifecycle/runtest"
	"canistry/pkg/notify"
	"canistry/pkg/store"
	"canistry/pkg/ws"
)

// TestMetrics_Notifier: the notifier counts its routes and the two handlers mounted beside
// them, the intake (its 401s as auth failures) and /ws (an upgrade is a 101).
func TestMetrics_Notifier(t *testing.T) {
	st, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	hub := ws.NewHub(ws.Config{Replay: st.Events, Bounds: st.EventLogBounds})
	intake := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":{"code":"unauthorized","message":"no key"}}`))
	})
	h, err := notify.NewHandler(notify.HTTPDeps{Store: st, Logger: slog.New(slog.DiscardHandler), Intake: intake, WS: hub, WSStatus: hub.Status,
		Probes: httpserver.Probes{Ready: st.Ping, Metrics: httpserver.NewMetricsRegistry()}})
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
	for _, req := range []struct {
		method, path string
		want         int
	}{{"POST", "/miner-notifications", http.StatusUnauthorized}, {"GET", "/ws-status", http.StatusOK}, {"GET", "/favicon.ico", http.StatusOK}} {
		r, err := http.NewRequestWithContext(t.Context(), req.method, srv.URL+req.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != req.want {
			t.Fatalf("%s %s: %d", req.method, req.path, res.StatusCode)
		}
	}
	conn, _, err := websocket.DefaultDialer.DialContext(t.Context(), "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	var text string
	runtest.WaitFor(t, "the upgrade counted", func() bool {
		text = runtest.MetricsText(t, srv.URL)
		return strings.Contains(text, `canistry_http_requests_total{code="101",method="GET",route="/ws"} 1`)
	})
	runtest.CheckSeries(t, text, []string{
		`canistry_http_requests_total{code="401",method="POST",route="/miner-notifications"} 1`,
		`canistry_http_auth_failures_total{code="401",route="/miner-notifications"} 1`,
		`canistry_http_requests_total{code="200",method="GET",route="/ws-status"} 1`,
	})
	if strings.Contains(text, "canistry_api_read_cache") || strings.Contains(text, "canistry_api_proxy") {
		t.Error("the notifier exports the api's own series")
	}
	runtest.PromtoolCheck(t, text)
}
