package httpapi

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"

	"github.com/gin-gonic/gin"
)

// The /test page: one HTML page and its script and style, embedded (no CDN), served by the
// notifier (and through the api's proxy). It connects to ws relative to its own URL, so it
// works wherever it is served from.
//
//go:embed testpage/index.html testpage/app.js testpage/app.css
var testPageFS embed.FS

// testPageCSP allows only the page's own script, style and WebSocket.
const testPageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// mountTestPage adds GET /test, /test/app.js and /test/app.css.
func mountTestPage(r gin.IRoutes, localDev bool) error {
	tpl, err := template.ParseFS(testPageFS, "testpage/index.html")
	if err != nil {
		return err
	}
	var page bytes.Buffer
	if err := tpl.Execute(&page, struct{ LocalDev bool }{localDev}); err != nil {
		return err
	}
	asset := func(name, contentType string) (gin.HandlerFunc, error) {
		b, err := testPageFS.ReadFile("testpage/" + name)
		if err != nil {
			return nil, err
		}
		return func(c *gin.Context) { serveStatic(c, contentType, b) }, nil
	}
	js, err := asset("app.js", "text/javascript; charset=utf-8")
	if err != nil {
		return err
	}
	css, err := asset("app.css", "text/css; charset=utf-8")
	if err != nil {
		return err
	}
	html := page.Bytes()
	r.GET("/test", func(c *gin.Context) { serveStatic(c, "text/html; charset=utf-8", html) })
	r.GET("/test/app.js", js)
	r.GET("/test/app.css", css)
	return nil
}

func serveStatic(c *gin.Context, contentType string, b []byte) {
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", testPageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-cache")
	c.Data(http.StatusOK, contentType, b)
}
