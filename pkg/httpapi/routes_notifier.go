package httpapi

import (
	"log/slog"
	"net/http"
	"time"

	"canistry/pkg/store"
)

// NotifierDeps is everything the notifier's router needs.
type NotifierDeps struct {
	Store  *store.Store
	Logger *slog.Logger
	Probes Probes
	Now    func() time.Time
}

// NewNotifierHandler returns the notifier's router. Every route of the notifier is in this
// function.
func NewNotifierHandler(d NotifierDeps) http.Handler {
	r := NewEngine(d.Logger)
	mountProbes(r, d.Probes, d.Logger)
	return r
}
