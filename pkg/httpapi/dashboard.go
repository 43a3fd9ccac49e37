package httpapi

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"canistry/pkg/httpserver"
	"canistry/pkg/registry"
)

// dashboardFiles is the registry dashboard: one HTML shell, its scripts and its style sheet,
// and the chart library uPlot (vendor/, copied from the locked npm package by make assets),
// embedded so that it works offline and loads nothing from another origin. The script reads
// the REST API and /ws of the same origin; every page is a URL under /ui/ (plus / for the
// overview), so a page with its filters and cursor can be bookmarked or shared.
//
//go:embed dashboard/index.html dashboard/app.js dashboard/charts.js dashboard/wallets.js dashboard/mining.js dashboard/app.css
//go:embed dashboard/vendor/uPlot.iife.min.js dashboard/vendor/uPlot.min.css dashboard/vendor/LICENSE
var dashboardFiles embed.FS

// dashboardCSP lets the dashboard run only its own script and style, fetch and open
// WebSockets only to its own origin, and show images from its own origin (token logos, which
// the logo endpoint serves under its own stricter policy).
const dashboardCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// mountDashboard adds GET (and HEAD) /, /ui/… (every page answers the same shell, which
// renders the page its URL names), the assets under /ui/assets/ and the icon (/favicon.svg,
// /favicon.ico).
func mountDashboard(r gin.IRoutes, werr func(*gin.Context, error)) {
	r = withHEAD(r)
	read := func(name string) []byte {
		b, err := dashboardFiles.ReadFile(name)
		if err != nil {
			panic(err) // embedded above: cannot be missing
		}
		return b
	}
	shell := newAsset(read("dashboard/index.html"), "text/html; charset=utf-8")
	assets := map[string]*asset{
		"/assets/app.js":                   newAsset(read("dashboard/app.js"), "text/javascript; charset=utf-8"),
		"/assets/app.css":                  newAsset(read("dashboard/app.css"), "text/css; charset=utf-8"),
		"/assets/charts.js":                newAsset(read("dashboard/charts.js"), "text/javascript; charset=utf-8"),
		"/assets/wallets.js":               newAsset(read("dashboard/wallets.js"), "text/javascript; charset=utf-8"),
		"/assets/mining.js":                newAsset(read("dashboard/mining.js"), "text/javascript; charset=utf-8"),
		"/assets/vendor/uPlot.iife.min.js": newAsset(read("dashboard/vendor/uPlot.iife.min.js"), "text/javascript; charset=utf-8"),
		"/assets/vendor/uPlot.min.css":     newAsset(read("dashboard/vendor/uPlot.min.css"), "text/css; charset=utf-8"),
		"/assets/vendor/LICENSE":           newAsset(read("dashboard/vendor/LICENSE"), "text/plain; charset=utf-8"),
	}
	page := func(c *gin.Context) { shell.serve(c) }
	r.GET("/", page)
	svg, ico := httpserver.Favicons()
	r.GET("/favicon.svg", gin.WrapH(svg))
	r.GET("/favicon.ico", gin.WrapH(ico))
	r.GET("/ui/*path", func(c *gin.Context) {
		p := c.Param("path")
		if a, ok := assets[p]; ok {
			a.serve(c)
			return
		}
		if strings.HasPrefix(p, "/assets/") {
			werr(c, registry.Errorf(registry.ENOTFOUND, "no dashboard asset %.80q", p))
			return
		}
		page(c)
	})
}

// asset is one embedded file of the dashboard with its gzipped form and a strong ETag, both
// computed once at start.
type asset struct {
	body, gz  []byte
	mediaType string
	etag      string
}

func newAsset(body []byte, mediaType string) *asset {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // a valid level: no error
	_, _ = zw.Write(body)                                    // a bytes.Buffer does not fail
	_ = zw.Close()
	sum := sha256.Sum256(body)
	return &asset{body: body, gz: buf.Bytes(), mediaType: mediaType, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
}

// serve answers the asset: 304 when If-None-Match names its ETag, gzipped when the client
// accepts gzip, under the dashboard's CSP.
func (a *asset) serve(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", dashboardCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", a.etag)
	h.Set("Vary", "Accept-Encoding")
	if inm := c.GetHeader("If-None-Match"); inm != "" && (inm == a.etag || inm == "*") {
		c.Status(http.StatusNotModified)
		return
	}
	if httpserver.AcceptsGzip(c.Request.Header.Values("Accept-Encoding")) {
		h.Set("Content-Encoding", "gzip")
		c.Data(http.StatusOK, a.mediaType, a.gz)
		return
	}
	c.Data(http.StatusOK, a.mediaType, a.body)
}
