// Package httpapi holds all HTTP code of canistry's two public servers (api and notifier) and
// the poller's probe server: gin routers (one routes file per server), small handler makers,
// and the one mapping from registry error codes to HTTP statuses.
package httpapi

import (
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"canistry/pkg/registry"
)

// statusOf is the one map from registry error codes to HTTP statuses.
func statusOf(code string) int {
	switch code {
	case registry.EINVALID:
		return http.StatusBadRequest
	case registry.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case registry.EFORBIDDEN:
		return http.StatusForbidden
	case registry.ENOTFOUND:
		return http.StatusNotFound
	case registry.ECONFLICT:
		return http.StatusConflict
	case registry.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case registry.EUNSUPPORTED:
		return http.StatusUnsupportedMediaType
	case registry.ETOOMANY:
		return http.StatusTooManyRequests
	case registry.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// StatusOf returns the HTTP status for err (exported for handlers outside gin, such as the
// outcall intake that writes raw bytes).
func StatusOf(err error) int { return statusOf(registry.ErrorCode(err)) }

// ErrorBody is the one JSON error shape: {"error":{"code":"…","message":"…"}}.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inside of ErrorBody.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// NewErrorBody returns the body for err.
func NewErrorBody(err error) ErrorBody {
	return ErrorBody{Error: ErrorDetail{Code: registry.ErrorCode(err), Message: registry.ErrorMessage(err)}}
}

// writeError answers err in the one error shape; internal errors are logged here, once, where
// they end up, and the client sees only "internal error".
func writeError(c *gin.Context, logger *slog.Logger, err error) {
	code := registry.ErrorCode(err)
	if code == registry.EINTERNAL {
		logger.Error("request failed", "method", c.Request.Method, "path", c.Request.URL.Path, "err", err)
	}
	c.AbortWithStatusJSON(statusOf(code), NewErrorBody(err))
}
