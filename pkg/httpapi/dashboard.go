package httpapi

import (
	"embed"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"canistry/pkg/registry"
)

// dashboardFiles is the registry dashboard: one HTML shell, its script and its style sheet,
// embedded so that it works offline and loads nothing from another origin. The script reads
// the REST API and /ws of the same origin; every page is a URL under /ui/ (plus / for the
// overview), so a page with its filters and cursor can be bookmarked or shared.
//
//go:embed dashboard/index.html dashboard/app.js dashboard/app.css
var dashboardFiles embed.FS

// dashboardCSP lets the dashboard run only its own script and style, fetch and open
// WebSockets only to its own origin, and show images from its own origin (token logos, which
// the logo endpoint serves under its own stricter policy).
const dashboardCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// mountDashboard adds GET (and HEAD) /, /ui/… (every page answers the same shell, which
// renders the page its URL names) and the assets under /ui/assets/.
func mountDashboard(r gin.IRoutes, werr func(*gin.Context, error)) {
	r = withHEAD(r)
	read := func(name string) []byte {
		b, err := dashboardFiles.ReadFile(name)
		if err != nil {
			panic(err) // embedded above: cannot be missing
		}
		return b
	}
	shell := read("dashboard/index.html")
	assets := map[string]struct {
		body      []byte
		mediaType string
	}{
		"/assets/app.js":  {read("dashboard/app.js"), "text/javascript; charset=utf-8"},
		"/assets/app.css": {read("dashboard/app.css"), "text/css; charset=utf-8"},
	}
	serve := func(c *gin.Context, mediaType string, body []byte) {
		h := c.Writer.Header()
		h.Set("Content-Security-Policy", dashboardCSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-cache")
		c.Data(http.StatusOK, mediaType, body)
	}
	page := func(c *gin.Context) { serve(c, "text/html; charset=utf-8", shell) }
	r.GET("/", page)
	r.GET("/ui/*path", func(c *gin.Context) {
		p := c.Param("path")
		if a, ok := assets[p]; ok {
			serve(c, a.mediaType, a.body)
			return
		}
		if strings.HasPrefix(p, "/assets/") {
			werr(c, registry.Errorf(registry.ENOTFOUND, "no dashboard asset %.80q", p))
			return
		}
		page(c)
	})
}
