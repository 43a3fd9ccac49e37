package httpapi

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"canistry/pkg/store"
	"canistry/pkg/ws"
)

// NotifierDeps is everything the notifier's router needs.
type NotifierDeps struct {
	Store  *store.Store
	Logger *slog.Logger
	Probes Probes
	Now    func() time.Time
	// Intake serves POST /miner-notifications (notify.Intake). It is mounted outside gin so
	// that it alone decides every byte of its replies.
	Intake http.Handler
	// WS serves GET /ws (the ws.Hub), also outside gin: upgraded connections need nothing of it.
	WS http.Handler
	// WSStatus feeds GET /ws-status.
	WSStatus func() ws.Status
	// LocalDev adds POST /test/simulate and the page's simulation buttons.
	LocalDev bool
	// SimulateKey is the X-API-Key simulated outcalls carry (the first of NOTIFY_API_KEYS).
	SimulateKey string
}

// NewNotifierHandler returns the notifier's router. Every route of the notifier is in this
// function:
//
//	POST /miner-notifications   outcall intake (byte-identical replies to every replica copy)
//	GET  /ws                    WebSocket events (?events=, ?token=, ?miner=, ?since=)
//	GET  /ws-status             clients connected, messages sent, clients dropped for slowness
//	GET  /test                  the live page (and /test/app.js, /test/app.css)
//	POST /test/simulate?event=  LOCAL_DEV only: a simulated outcall through the real intake
//	GET  /healthz, /readyz, /metrics
//	GET  /openapi.json          this server's part of the api's OpenAPI document
//
// Every GET route answers HEAD alike, without a body; HEAD /ws never upgrades (ws.Hub).
func NewNotifierHandler(d NotifierDeps) (http.Handler, error) {
	engine, err := newNotifierEngine(d)
	if err != nil {
		return nil, err
	}
	metrics := newHTTPMetrics(d.Probes.Metrics)
	mux := http.NewServeMux()
	if d.Intake != nil {
		mux.Handle("/miner-notifications", metrics.wrap("/miner-notifications", d.Intake))
	}
	if d.WS != nil {
		mux.Handle("/ws", metrics.wrap("/ws", d.WS))
	}
	mux.Handle("/", engine)
	return mux, nil
}

// newNotifierEngine is the notifier's gin router: every route but the intake and /ws.
func newNotifierEngine(d NotifierDeps) (*gin.Engine, error) {
	if d.Now == nil {
		d.Now = time.Now
	}
	doc, err := notifierDocument(openAPIDoc)
	if err != nil {
		return nil, err
	}
	enc := newReplyEncoder()
	engine := NewEngine(d.Logger, newHTTPMetrics(d.Probes.Metrics).middleware, enc.middleware)
	r := withHEAD(engine) // every GET route answers HEAD too
	werr := func(c *gin.Context, err error) { writeError(c, d.Logger, err) }
	mountProbes(r, d.Probes, d.Logger)
	r.GET("/openapi.json", serveDocument(enc.newEncoded(doc)))
	if d.WSStatus != nil {
		r.GET("/ws-status", func(c *gin.Context) { c.JSON(http.StatusOK, d.WSStatus()) })
	}
	if err := mountTestPage(r, d.LocalDev); err != nil {
		return nil, fmt.Errorf("test page: %w", err)
	}
	if d.LocalDev && d.Intake != nil {
		r.POST("/test/simulate", simulate(d.Intake, d.SimulateKey, d.Store, d.Now, werr))
	}
	return engine, nil
}
