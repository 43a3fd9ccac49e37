package notify

import (
	"net/http"

	"canistry/pkg/httpserver"
	"canistry/pkg/ws"
)

// mountWSClient adds GET /ws/client.js and /ws/client.d.ts (ws.ClientFiles).
func mountWSClient(rt *httpserver.Router) {
	for _, f := range ws.ClientFiles() {
		rt.GET(f.Path, serveClientFile(f))
	}
}

// serveClientFile answers f as the page's files are answered (Cache-Control: no-cache,
// nosniff), with an ETag, so a revalidation is a 304 (the reply encoder in front answers
// If-None-Match), and Access-Control-Allow-Origin: * so that a frontend on another origin
// can import the module too.
func serveClientFile(f ws.ClientFile) http.Handler {
	etag := httpserver.NewEncoder().NewEncoded(f.Body).ETag()
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h.Set("Content-Type", f.ContentType)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-cache")
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("ETag", etag)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(f.Body)
	})
}
