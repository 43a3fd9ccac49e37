// Package httpapi holds all HTTP code of canistry's two public servers (api and notifier) and
// the poller's probe server: gin routers (one routes file per server) and small handler makers.
// Errors become replies through httperror, the one map and the one body.
package httpapi

import (
	"log/slog"

	"github.com/gin-gonic/gin"

	"canistry/pkg/httperror"
	"canistry/pkg/registry"
)

// writeError answers err in the one error shape; internal errors are logged here, once, where
// they end up, and the client sees only "internal error".
func writeError(c *gin.Context, logger *slog.Logger, err error) {
	if registry.ErrorCode(err) == registry.EINTERNAL {
		logger.Error("request failed", "method", c.Request.Method, "path", c.Request.URL.Path, "err", err)
	}
	c.Abort()
	httperror.Write(c.Writer, err)
}
