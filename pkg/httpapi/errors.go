// Package httpapi is the api's REST adapter and nothing else: the api's gin router
// (routes_api.go, every route of the api), its handlers, read cache, dashboard, docs page and
// the proxy that passes the notifier's routes to the notifier. The notifier's own HTTP surface
// is in pkg/notify (on net/http, no gin); the server underneath every binary is pkg/httpserver.
// Errors become replies through httperror, the one map and the one body.
package httpapi

import (
	"log/slog"

	"github.com/gin-gonic/gin"

	"canistry/pkg/httperror"
)

// writeError answers err in the one error shape; internal errors are logged here, once, where
// they end up, and the client sees only "internal error".
func writeError(c *gin.Context, logger *slog.Logger, err error) {
	c.Abort()
	httperror.Reply(c.Writer, c.Request, logger, err)
}
