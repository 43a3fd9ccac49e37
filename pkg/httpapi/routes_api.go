package httpapi

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"canistry/pkg/bus"
	"canistry/pkg/store"
)

// APIDeps is everything the api's router needs.
type APIDeps struct {
	Store  *store.Store
	Bus    *bus.Conn
	Logger *slog.Logger
	Probes Probes
	Status StatusDeps
	Now    func() time.Time
}

// NewAPIHandler returns the api's router. Every route of the api is in this function.
func NewAPIHandler(d APIDeps) http.Handler {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Status.Now == nil {
		d.Status.Now = d.Now
	}
	r := NewEngine(d.Logger)
	werr := func(c *gin.Context, err error) { writeError(c, d.Logger, err) }
	mountProbes(r, d.Probes, d.Logger)
	r.GET("/system/status", systemStatus(d.Status, werr))
	return r
}
