package httpapi

import "github.com/gin-gonic/gin"

// APIRoutes lists "METHOD path" of every route of the api's router for d (the proxied notifier
// routes are not in it).
func APIRoutes(d APIDeps) []string {
	var out []string
	for _, r := range newAPIEngine(d, newAPIMetrics(nil)).Routes() {
		out = append(out, r.Method+" "+r.Path)
	}
	return out
}

// NotifierRoutes lists "METHOD path" of every gin route of the notifier for d (the intake and
// /ws are mounted beside it).
func NotifierRoutes(d NotifierDeps) ([]string, error) {
	e, err := newNotifierEngine(d)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range e.Routes() {
		out = append(out, r.Method+" "+r.Path)
	}
	return out, nil
}

// ReplyEncoder returns the api's reply encoder (ETag, 304, gzip) as a gin middleware, and
// Remember, which leaves a body's encoded forms in the context as the read cache does on a hit.
func ReplyEncoder() (middleware gin.HandlerFunc, remember func(*gin.Context, []byte)) {
	re := newReplyEncoder()
	memo := map[string]*encoded{}
	return re.middleware, func(c *gin.Context, body []byte) {
		e := memo[string(body)]
		if e == nil {
			e = re.newEncoded(body)
			memo[string(body)] = e
		}
		c.Set(encodedKey, e)
	}
}
