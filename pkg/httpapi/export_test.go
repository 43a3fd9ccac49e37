package httpapi

import (
	"github.com/gin-gonic/gin"

	"canistry/pkg/httpserver"
)

// APIRoutes lists "METHOD path" of every route of the api's router for d (the proxied notifier
// routes are not in it).
func APIRoutes(d APIDeps) []string {
	var out []string
	for _, r := range newAPIEngine(d, newAPIMetrics(nil)).Routes() {
		out = append(out, r.Method+" "+r.Path)
	}
	return out
}

// ReplyEncoder returns the api's reply encoder (ETag, 304, gzip) as a gin middleware, and
// Remember, which leaves a body's encoded forms for it as the read cache does on a hit.
func ReplyEncoder() (middleware gin.HandlerFunc, remember func(*gin.Context, []byte)) {
	re := httpserver.NewEncoder()
	memo := map[string]*httpserver.Encoded{}
	return encoderMiddleware(re), func(c *gin.Context, body []byte) {
		e := memo[string(body)]
		if e == nil {
			e = re.NewEncoded(body)
			memo[string(body)] = e
		}
		httpserver.Remember(c.Writer, e)
	}
}
