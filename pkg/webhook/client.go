package webhook

import (
	"net/http"
	"time"

	"canistry/pkg/egress"
	"canistry/pkg/store"
)

// MaxResponseBytes is how much of a reply is read; the rest is dropped with the connection.
const MaxResponseBytes = 64 << 10

// NewClient returns the HTTP client of deliveries (egress.NewClient): timeout bounds connect,
// TLS handshake, reply headers and the whole call; redirects are not followed (a 3xx is a failed
// attempt); unless localDev, non-public addresses are refused at dial time.
func NewClient(localDev bool, timeout time.Duration) *http.Client {
	// One idle connection per endpoint, even when all share a host.
	return egress.NewClient(egress.Options{LocalDev: localDev, Timeout: timeout, IdlePerHost: store.MaxWebhooks})
}
