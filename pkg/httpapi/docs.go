package httpapi

import (
	"embed"
	"net/http"

	"github.com/gin-gonic/gin"
)

// docsFiles is the API reference page: a small HTML page, its script and its style sheet,
// embedded so that /docs works offline and loads nothing from another origin. The script
// renders /openapi.json; the document stays the one description of the API.
//
//go:embed docs/index.html docs/docs.js docs/docs.css
var docsFiles embed.FS

// docsCSP lets the page run only its own script and style and fetch only its own origin.
const docsCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// mountDocs adds GET (and HEAD) /docs, /docs/docs.js and /docs/docs.css.
func mountDocs(r gin.IRoutes) {
	r = withHEAD(r)
	for path, file := range map[string]struct{ name, mediaType string }{
		"/docs":          {"docs/index.html", "text/html; charset=utf-8"},
		"/docs/docs.js":  {"docs/docs.js", "text/javascript; charset=utf-8"},
		"/docs/docs.css": {"docs/docs.css", "text/css; charset=utf-8"},
	} {
		body, err := docsFiles.ReadFile(file.name)
		if err != nil {
			panic(err) // embedded above: cannot be missing
		}
		r.GET(path, func(c *gin.Context) {
			h := c.Writer.Header()
			h.Set("Content-Security-Policy", docsCSP)
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Cache-Control", "public, max-age=300")
			c.Data(http.StatusOK, file.mediaType, body)
		})
	}
}
