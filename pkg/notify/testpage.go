package notify

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"

	"canistry/pkg/httpserver"
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
func mountTestPage(rt *httpserver.Router, localDev bool) error {
	tpl, err := template.ParseFS(testPageFS, "testpage/index.html")
	if err != nil {
		return err
	}
	var page bytes.Buffer
	if err := tpl.Execute(&page, struct{ LocalDev bool }{localDev}); err != nil {
		return err
	}
	asset := func(name, contentType string) (http.Handler, error) {
		b, err := testPageFS.ReadFile("testpage/" + name)
		if err != nil {
			return nil, err
		}
		return serveStatic(contentType, b), nil
	}
	js, err := asset("app.js", "text/javascript; charset=utf-8")
	if err != nil {
		return err
	}
	css, err := asset("app.css", "text/css; charset=utf-8")
	if err != nil {
		return err
	}
	rt.GET("/test", serveStatic("text/html; charset=utf-8", page.Bytes()))
	rt.GET("/test/app.js", js)
	rt.GET("/test/app.css", css)
	return nil
}

func serveStatic(contentType string, b []byte) http.Handler {
	return httpserver.Static(contentType, testPageCSP, "no-cache", b)
}
