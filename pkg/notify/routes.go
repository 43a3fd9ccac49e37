package notify

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"canistry/pkg/httperror"
	"canistry/pkg/httpserver"
	"canistry/pkg/openapi"
	"canistry/pkg/store"
	"canistry/pkg/ws"
)

// HTTPDeps is everything the notifier's HTTP handler needs.
type HTTPDeps struct {
	Store  *store.Store
	Logger *slog.Logger
	Probes httpserver.Probes // Probes.Metrics also gets the HTTP series (nil: counted, not exported)
	Now    func() time.Time
	// Intake serves POST /miner-notifications (an Intake). It is mounted outside the router and
	// its middleware so that it alone decides every byte of its replies.
	Intake http.Handler
	// WS serves GET /ws (the ws.Hub), also outside the router: upgraded connections need nothing
	// of it.
	WS http.Handler
	// Relay serves /relay/<route>/<path…> (relay.Relay), ahead of the mux: ServeMux would
	// clean a path with .. and redirect, and the relay must refuse it in its own reply.
	Relay http.Handler
	// WSStatus feeds GET /ws-status.
	WSStatus func() ws.Status
	// LocalDev adds POST /test/simulate and the page's simulation buttons.
	LocalDev bool
	// SimulateKey is the X-API-Key simulated outcalls carry (the first of NOTIFY_API_KEYS).
	SimulateKey string
}

// NewHandler returns the notifier's HTTP handler, on net/http alone. Every route of the
// notifier is here:
//
//	POST /miner-notifications   outcall intake (byte-identical replies to every replica copy)
//	ANY  /relay/<route>/<path…>  outcall relay (pkg/relay), when RELAY_ROUTES is set
//	GET  /ws                    WebSocket events (?events=, ?token=, ?miner=, ?since=)
//	GET  /ws/client.js          the JavaScript client of /ws (an ES module), /ws/client.d.ts its types
//	GET  /ws-status             clients connected, messages sent, clients dropped for slowness
//	GET  /test                  the live page (and /test/app.js, /test/app.css)
//	POST /test/simulate?event=  LOCAL_DEV only: a simulated outcall through the real intake
//	GET  /healthz, /readyz, /metrics
//	GET  /openapi.json          this server's part of the api's OpenAPI document
//	GET  /favicon.svg, /favicon.ico  the icon
//
// Every GET route answers HEAD alike, without a body; HEAD /ws never upgrades (ws.Hub). The
// routes of NewRouter pass through the access log, the request metrics, the reply encoder
// (ETag, 304, gzip) and panic recovery; the intake and /ws only through the metrics.
func NewHandler(d HTTPDeps) (http.Handler, error) {
	rt, err := NewRouter(d)
	if err != nil {
		return nil, err
	}
	metrics := httpserver.NewMetrics(d.Probes.Metrics)
	mux := http.NewServeMux()
	if d.Intake != nil {
		mux.Handle("/miner-notifications", metrics.Wrap("/miner-notifications", d.Intake))
	}
	if d.WS != nil {
		mux.Handle("/ws", metrics.Wrap("/ws", d.WS))
	}
	enc := httpserver.NewEncoder()
	mux.Handle("/", httpserver.AccessLog(d.Logger,
		metrics.WrapRoutes(rt.Route, enc.Handler(httpserver.Recover(d.Logger, rt)))))
	if d.Relay == nil {
		return mux, nil
	}
	relay := metrics.Wrap("/relay/*", d.Relay)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/relay/") {
			relay.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	}), nil
}

// NewRouter returns the router of every notifier route but the intake and /ws.
func NewRouter(d HTTPDeps) (*httpserver.Router, error) {
	if d.Now == nil {
		d.Now = time.Now
	}
	doc, err := openapi.Notifier()
	if err != nil {
		return nil, err
	}
	rt := httpserver.NewRouter()
	probes := httpserver.ProbeHandler(d.Probes, d.Logger)
	for _, path := range httpserver.ProbePaths {
		if path != "/metrics" || d.Probes.Metrics != nil {
			rt.GET(path, probes)
		}
	}
	rt.GET("/openapi.json", httpserver.ServeDocument(httpserver.NewEncoder().NewEncoded(doc)))
	svg, ico := httpserver.Favicons()
	rt.GET("/favicon.svg", svg)
	rt.GET("/favicon.ico", ico)
	if d.WSStatus != nil {
		rt.GET("/ws-status", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, d.WSStatus()) }))
	}
	mountWSClient(rt)
	if err := mountTestPage(rt, d.LocalDev); err != nil {
		return nil, fmt.Errorf("test page: %w", err)
	}
	if d.LocalDev && d.Intake != nil {
		rt.Handle(http.MethodPost, "/test/simulate", simulate(d.Intake, d.SimulateKey, d.Store, d.Now, d.Logger))
	}
	return rt, nil
}

// writeJSON answers 200 with v as JSON (application/json; charset=utf-8).
func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		httperror.Write(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}
