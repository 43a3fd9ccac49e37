package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"canistry/pkg/httpapi"
	"canistry/pkg/httpserver"
	"canistry/pkg/notify"
	"canistry/pkg/store"
	"canistry/pkg/ws"
)

// rawHTTP sends one request (Connection: close) on a new TCP connection and returns the reply
// parsed, and the bytes that followed the reply's header block.
func rawHTTP(t *testing.T, addr, method, target string) (*http.Response, []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, method+" "+target+" HTTP/1.1\r\nHost: "+addr+"\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(conn)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", method, target, err, raw)
	}
	_ = resp.Body.Close()
	_, after, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	return resp, after
}

// checkHEADLikeGET asserts that HEAD target answers GET's status and headers (Content-Length
// included; Date aside) and sends no body byte.
func checkHEADLikeGET(t *testing.T, addr, target string) {
	t.Helper()
	get, _ := rawHTTP(t, addr, "GET", target)
	head, body := rawHTTP(t, addr, "HEAD", target)
	if head.StatusCode != get.StatusCode {
		t.Errorf("HEAD %s = %d, GET = %d", target, head.StatusCode, get.StatusCode)
	}
	if len(body) != 0 {
		t.Errorf("HEAD %s sent %d body bytes: %.80q", target, len(body), body)
	}
	if head.ContentLength != get.ContentLength {
		t.Errorf("HEAD %s Content-Length %d, GET %d", target, head.ContentLength, get.ContentLength)
	}
	gh, hh := get.Header.Clone(), head.Header.Clone()
	for _, h := range []http.Header{gh, hh} {
		h.Del("Date")
	}
	if !slices.Equal(slices.Sorted(maps.Keys(gh)), slices.Sorted(maps.Keys(hh))) {
		t.Errorf("HEAD %s headers %v, GET %v", target, hh, gh)
		return
	}
	for k := range gh {
		if k == "Content-Length" && get.TransferEncoding != nil {
			continue
		}
		if !slices.Equal(gh[k], hh[k]) {
			t.Errorf("HEAD %s %s: %q, GET %q", target, k, hh[k], gh[k])
		}
	}
}

// newTestNotifier serves the real notifier router (no intake) with a real hub.
func newTestNotifier(t *testing.T) (*httptest.Server, notify.HTTPDeps) {
	t.Helper()
	st, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	hub := ws.NewHub(ws.Config{Replay: st.Events, Bounds: st.EventLogBounds})
	d := notify.HTTPDeps{Store: st, Logger: slog.New(slog.DiscardHandler), WS: hub, WSStatus: hub.Status,
		Probes: httpserver.Probes{Ready: st.Ping, Metrics: httpserver.NewMetricsRegistry()}}
	h, err := notify.NewHandler(d)
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
	return srv, d
}

// getPaths turns the router's GET routes into request targets, with real ids for parameters,
// after checking that each GET route has a HEAD route.
func getPaths(t *testing.T, routes []string) []string {
	t.Helper()
	have := map[string]bool{}
	for _, r := range routes {
		have[r] = true
	}
	params := strings.NewReplacer(":token_id", string(idLedger), "/miners/:id", "/miners/"+string(idMiner), ":id", string(idLedger))
	var out []string
	for _, r := range routes {
		path, ok := strings.CutPrefix(r, "GET ")
		if !ok {
			continue
		}
		if !have["HEAD "+path] {
			t.Errorf("GET %s has no HEAD route", path)
		}
		out = append(out, params.Replace(path))
	}
	if len(out) == 0 {
		t.Fatal("no GET routes")
	}
	return out
}

// TestHEAD_EveryGETRoute: on the api (every GET route of its router, and the notifier's routes
// through its proxy) and on the notifier, HEAD answers what GET answers, without the body.
func TestHEAD_EveryGETRoute(t *testing.T) {
	notifier, nd := newTestNotifier(t)
	nu, err := url.Parse(notifier.URL)
	if err != nil {
		t.Fatal(err)
	}
	a := newTestAPI(t, apiOptions{adminKey: testAdminKey, notifierURL: nu})
	seedObserved(t, a)

	apiRoutes := httpapi.APIRoutes(httpapi.APIDeps{Store: a.Store, Bus: a.Bus, Logger: slog.New(slog.DiscardHandler),
		Probes: httpserver.Probes{Metrics: httpserver.NewMetricsRegistry()}})
	notifierRouter, err := notify.NewRouter(nd)
	if err != nil {
		t.Fatal(err)
	}
	notifierPaths := append(getPaths(t, notifierRouter.Routes()), "/ws", "/ws?since=0", "/ws?bad=1")
	extra := []string{"/canisters?limit=2&kind=token", "/canisters?q=%zz", "/canisters/" + string(idNone), "/no-such-route",
		"/tokens/" + string(idToken2) + "/logo", "/miners/" + string(idMiner) + "/stats?from=2025-03-01T11:00:00Z"}

	apiAddr := strings.TrimPrefix(a.URL, "http://")
	for _, target := range append(getPaths(t, apiRoutes), extra...) {
		t.Run("api"+target, func(t *testing.T) { checkHEADLikeGET(t, apiAddr, target) })
	}
	for _, target := range notifierPaths {
		t.Run("api-proxy"+target, func(t *testing.T) { checkHEADLikeGET(t, apiAddr, target) })
		t.Run("notifier"+target, func(t *testing.T) { checkHEADLikeGET(t, strings.TrimPrefix(notifier.URL, "http://"), target) })
	}
}

// TestHEAD_NotAGETRoute: HEAD where only POST is served is a 405 like any other method, and
// Allow names HEAD wherever it names GET.
func TestHEAD_NotAGETRoute(t *testing.T) {
	a := newTestAPI(t, apiOptions{adminKey: testAdminKey})
	addr := strings.TrimPrefix(a.URL, "http://")
	resp, body := rawHTTP(t, addr, "HEAD", "/system/refresh")
	if resp.StatusCode != http.StatusMethodNotAllowed || len(body) != 0 {
		t.Errorf("HEAD /system/refresh = %d (%d body bytes), want 405 and no body", resp.StatusCode, len(body))
	}
	resp, _ = rawHTTP(t, addr, "PATCH", "/canisters")
	if allow := resp.Header.Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "HEAD") {
		t.Errorf("PATCH /canisters Allow %q, want GET and HEAD in it", allow)
	}
	resp, _ = rawHTTP(t, addr, "OPTIONS", "/canisters")
	if got := resp.Header.Get("Access-Control-Allow-Methods"); got != "GET, HEAD, OPTIONS" {
		t.Errorf("preflight Access-Control-Allow-Methods %q, want GET, HEAD, OPTIONS", got)
	}
}
