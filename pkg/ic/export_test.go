package ic

import (
	"context"
	"time"
)

// NewWithAgentGoVerification builds a Client whose queries agent-go verifies itself: a
// ["subnet"] read_state and its certificate checks for every query, as before the node-key
// cache. Tests and benchmarks compare against it.
func NewWithAgentGoVerification(ctx context.Context, cfg Config) (*Client, error) {
	return newClient(ctx, cfg, options{verify: verifyAgentGo, cacheNow: time.Now})
}

// NewWithNodeKeyClock builds a verifying Client whose node-key cache reads the time from now.
func NewWithNodeKeyClock(ctx context.Context, cfg Config, now func() time.Time) (*Client, error) {
	return newClient(ctx, cfg, options{verify: verifyCached, cacheNow: now})
}
