package poll

import (
	"context"
	"fmt"
	"math"
	"net/http"

	"golang.org/x/time/rate"

	"canistry/pkg/ic"
)

// NewClient builds the process's one ic.Client. With callsPerSecond > 0 every HTTP request it
// sends to the IC (a query, a read_state, the status fetch) first waits for a token of one
// shared golang.org/x/time/rate limiter, so REFRESH_RATE bounds what the IC's boundary nodes
// see however many canisters are refreshed at once; the wait ends with the request's context.
// 0 means unlimited. cfg.HTTPClient, when set, is wrapped rather than replaced.
func NewClient(ctx context.Context, cfg ic.Config, callsPerSecond float64) (*ic.Client, error) {
	if callsPerSecond > 0 {
		hc := cfg.HTTPClient
		if hc == nil {
			hc = ic.NewHTTPClient(cfg.Timeout)
		}
		limited := *hc
		limited.Transport = &limitedTransport{base: transportOf(hc), limiter: newLimiter(callsPerSecond)}
		cfg.HTTPClient = &limited
	}
	c, err := ic.New(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("IC client: %w", err)
	}
	return c, nil
}

// newLimiter allows callsPerSecond with a burst of a tenth of a second's worth (at least 1),
// so a sweep starting never sends more than that at once.
func newLimiter(callsPerSecond float64) *rate.Limiter {
	burst := max(1, int(math.Ceil(callsPerSecond/10)))
	return rate.NewLimiter(rate.Limit(callsPerSecond), burst)
}

func transportOf(hc *http.Client) http.RoundTripper {
	if hc.Transport != nil {
		return hc.Transport
	}
	return http.DefaultTransport
}

// limitedTransport waits for the limiter before each request.
type limitedTransport struct {
	base    http.RoundTripper
	limiter *rate.Limiter
}

// RoundTrip implements http.RoundTripper.
func (t *limitedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := t.limiter.Wait(r.Context()); err != nil {
		if r.Body != nil {
			_ = r.Body.Close()
		}
		return nil, fmt.Errorf("rate limit towards the IC: %w", err)
	}
	return t.base.RoundTrip(r)
}
