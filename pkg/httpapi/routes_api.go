package httpapi

import (
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"

	"canistry/pkg/bus"
	"canistry/pkg/httpserver"
	"canistry/pkg/openapi"
	"canistry/pkg/store"
)

// APIDeps is everything the api's router needs.
type APIDeps struct {
	Store  *store.Store
	Bus    *bus.Conn
	Logger *slog.Logger
	Probes httpserver.Probes
	Status StatusDeps
	Now    func() time.Time

	// AdminAPIKey authorises writes (Authorization: Bearer …). Empty: every write answers 401.
	AdminAPIKey string
	// AdminAuthFailures wrong admin keys from one source within AdminAuthWindow make it wait
	// (429) until the window ends (ADMIN_AUTH_FAILURES, ADMIN_AUTH_WINDOW); zero: the defaults.
	AdminAuthFailures int
	AdminAuthWindow   time.Duration
	// NotifierURL is where /ws, /ws-status, /test, /miner-notifications and the relay's
	// /relay/<route>/… are proxied.
	NotifierURL *url.URL
	// StaleAfter is the default age after which a canister's data counts as stale
	// (overridable per request with ?stale_after=).
	StaleAfter time.Duration
	// LocalDev allows webhooks to http and to non-public addresses.
	LocalDev bool
}

// DefaultStaleAfter is used when APIDeps.StaleAfter is zero.
const DefaultStaleAfter = 3 * time.Minute

// NewAPIHandler returns the api's router. Every route of the api is mounted from this file.
// Reads are public and carry CORS headers; writes need the admin key. The notifier's routes are
// proxied before gin sees them, so that nothing of the api touches those replies.
func NewAPIHandler(d APIDeps) http.Handler {
	metrics := newAPIMetrics(d.Probes.Metrics)
	engine := newAPIEngine(d, metrics)
	if d.NotifierURL == nil {
		return engine
	}
	proxy := newNotifierProxy(d.NotifierURL, d.Logger, metrics.proxyErrors)
	return withNotifierProxy(engine, metrics.WrapRoutes(func(r *http.Request) string { return proxyRoute(r.URL.Path) }, proxy))
}

// newAPIEngine is the api's router without the proxy in front of it.
func newAPIEngine(d APIDeps, metrics *apiMetrics) *gin.Engine {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Status.Now == nil {
		d.Status.Now = d.Now
	}
	if d.StaleAfter <= 0 {
		d.StaleAfter = DefaultStaleAfter
	}
	enc := httpserver.NewEncoder() // ETag, 304 and gzip of the JSON reads
	engine := NewEngine(d.Logger, metrics.middleware, encoderMiddleware(enc))
	r := withHEAD(engine) // every GET route answers HEAD too
	werr := func(c *gin.Context, err error) { writeError(c, d.Logger, err) }
	engine.Use(writesTakeNoQuery(werr))
	mountProbes(r, d.Probes, d.Logger)
	a := &api{d: d, werr: werr, totals: newTotals()}
	auth := newAdminAuth(d, d.Probes.Metrics)
	admin := requireAdmin(d.AdminAPIKey, auth, werr)

	read := func(path string, h ...gin.HandlerFunc) {
		r.GET(path, append([]gin.HandlerFunc{cors}, h...)...)
		r.OPTIONS(path, cors, preflight)
	}
	read("/system/status", systemStatus(d.Status, auth, werr))
	read("/openapi.json", gin.WrapH(httpserver.ServeDocument(enc.NewEncoded(openapi.API))))
	mountDocs(r)
	mountDashboard(r, werr)

	// Registry reads below answer from the read cache while the database is unchanged.
	cache := newReadCache(d.Store.DataVersion, d.Now, metrics.cache, enc)
	plain := read
	read = func(path string, h ...gin.HandlerFunc) {
		plain(path, append([]gin.HandlerFunc{cache.middleware}, h...)...)
	}

	mountRegistry(r, read, admin, a)
	mountWallets(r, read, admin, a)
	mountWebhooks(r, a, admin)
	mountRelay(r, a, admin)
	return engine
}

// mountRegistry adds the registry's routes: reads through read (CORS, HEAD, the read cache),
// writes behind admin.
func mountRegistry(r gin.IRoutes, read func(string, ...gin.HandlerFunc), admin gin.HandlerFunc, a *api) {
	read("/canisters", a.listCanisters)
	read("/canisters/:id", a.getCanister)
	read("/canisters/:id/history", a.canisterHistory)
	read("/canisters/:id/cycles", a.canisterCycles)
	r.POST("/canisters", admin, a.createCanister)
	r.PUT("/canisters/:id", admin, a.updateCanister)
	r.DELETE("/canisters/:id", admin, a.deleteCanister)
	r.POST("/canisters/:id/refresh", admin, a.refreshCanister)
	r.POST("/system/refresh", admin, a.refreshAll)

	read("/tokens", a.listTokens)
	read("/tokens/:id", a.getToken)
	read("/tokens/:id/logo", a.tokenLogo)
	read("/tokens/:id/mining", a.tokenMining)
	read("/tokens/:id/mining/series", a.tokenMiningSeries)
	read("/tokens/:id/solutions", a.tokenSolutions)

	read("/miners", a.listMiners)
	read("/miners/:id", a.getMiner)
	read("/miners/:id/stats", a.minerStats)
	read("/miners/by-token/:token_id", a.minersByToken)

	read("/module-hashes", a.listModuleHashes)
	r.POST("/module-hashes", admin, a.createModuleHash)
	r.PUT("/module-hashes/:hash", admin, a.putModuleHash)
	r.DELETE("/module-hashes/:hash", admin, a.deleteModuleHash)

	read("/notifications", a.listNotifications)
	read("/notifications/:id", a.getNotification)
}

// writesTakeNoQuery answers 400 to a write (POST, PUT, DELETE of a route that exists) with
// query parameters: no write takes any, and reads refuse the ones they do not list, so a
// parameter is never silently ignored. It runs before the admin key is checked.
func writesTakeNoQuery(werr func(*gin.Context, error)) gin.HandlerFunc {
	return func(c *gin.Context) {
		switch c.Request.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return
		}
		if c.FullPath() == "" { // no route: the 404 or 405 decides
			return
		}
		if err := httpserver.NoQuery(c.Request); err != nil {
			werr(c, err)
		}
	}
}

// api holds the handlers of the registry routes.
type api struct {
	d      APIDeps
	werr   func(*gin.Context, error)
	totals *totals
}

// mountWallets adds the wallets' routes and SNS discovery's.
func mountWallets(r gin.IRoutes, read func(string, ...gin.HandlerFunc), admin gin.HandlerFunc, a *api) {
	read("/wallets", a.listWallets)
	read("/wallets/:id", a.getWallet)
	read("/wallets/:id/balances", a.walletBalances)
	read("/discover/sns", a.listDiscoveryRuns)
	r.POST("/discover/sns", admin, a.discoverSNS)
}
