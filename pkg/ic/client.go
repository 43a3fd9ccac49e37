// Package ic reads canisters on the Internet Computer through agent-go and returns registry
// types: token metadata, miner state, wallet balances and the certified module hash and
// controllers of any canister. Every reply is a signed query (verified against the subnet's
// node keys when VerifyQuerySignatures is set) or a BLS-certified read_state; every method
// takes a context and returns *registry.Error values.
package ic

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"canistry/pkg/registry"

	"github.com/aviate-labs/agent-go"
	"github.com/aviate-labs/agent-go/candid"
)

// DefaultURL is the mainnet API boundary.
const DefaultURL = "https://icp-api.io"

// DefaultTimeout bounds one HTTP request when Config.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// Config configures a Client.
type Config struct {
	// URL of the IC API (IC_URL); "" means DefaultURL.
	URL string
	// FetchRootKey trusts the root key the endpoint serves (IC_FETCH_ROOT_KEY). Only for a
	// local replica or the replica double; mainnet uses agent-go's built-in root key.
	FetchRootKey bool
	// VerifyQuerySignatures checks the node signature on every query reply against the
	// subnet's certified node keys (one extra read_state per query). The zero value turns it
	// off; config sets it on by default. A dfx/PocketIC replica cannot pass it (agent-go
	// assumes a certificate without delegation comes from mainnet's root subnet).
	VerifyQuerySignatures bool
	// Timeout bounds each HTTP request; 0 means DefaultTimeout. Callers bound whole calls
	// with their context.
	Timeout time.Duration
	// Logger; nil discards.
	Logger *slog.Logger
	// HTTPClient replaces the default client (which has Timeout and a connection pool sized
	// for a concurrent poller).
	HTTPClient *http.Client
}

// Client reads canisters. It is safe for concurrent use; build one per process.
type Client struct {
	agent  *agent.Agent
	logger *slog.Logger
	now    func() time.Time
}

// New builds a Client. With FetchRootKey it fetches /api/v2/status, which agent-go does without
// a context; New returns when ctx ends even if that request is still running (the HTTP
// client's timeout ends it).
func New(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.URL == "" {
		cfg.URL = DefaultURL
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, registry.Errorf(registry.EINVALID, "IC URL %q must be an http or https URL", cfg.URL)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 256
		hc = &http.Client{Timeout: cfg.Timeout, Transport: tr}
	}
	acfg := agent.Config{
		FetchRootKey:                   cfg.FetchRootKey,
		DisableSignedQueryVerification: !cfg.VerifyQuerySignatures,
		ClientConfig:                   []agent.ClientOption{agent.WithHostURL(u), agent.WithHttpClient(hc)},
	}
	a, err := withoutContext(ctx, func() (*agent.Agent, error) { return agent.New(acfg) })
	if err != nil {
		return nil, transportError(ctx, fmt.Sprintf("connect to IC at %s", cfg.URL), err)
	}
	return &Client{agent: a, logger: cfg.Logger, now: time.Now}, nil
}

// withoutContext runs f, which takes no context (agent.New's status fetch, read_state helpers),
// on its own goroutine and returns when f does or when ctx ends. An abandoned f keeps running
// until its HTTP request ends: the HTTP client timeout, or agent-go's own ingress-expiry
// context, bounds it.
func withoutContext[T any](ctx context.Context, f func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := f()
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// query calls a query method with Candid args and decodes the reply into out (pointers, one
// per reply value). The reply is verified by agent-go before it is decoded here, so a decoding
// failure is reported as such, naming the method and both types.
func (c *Client) query(ctx context.Context, id registry.CanisterID, method string, args []any, out ...any) error {
	if args == nil {
		args = []any{}
	}
	arg, err := candid.Marshal(args)
	if err != nil {
		return fmt.Errorf("encode %s arguments: %w", method, err)
	}
	req, err := c.agent.CreateRawAPIRequest(agent.RequestTypeQuery, id.Principal(), method, arg)
	if err != nil {
		return fmt.Errorf("build %s request: %w", method, err)
	}
	var raw []byte
	if err := req.QueryWithContext(ctx, &raw, false); err != nil {
		return callError(ctx, id, method, err)
	}
	if err := candid.Unmarshal(raw, out); err != nil {
		return decodeError(id, method, raw, out, err)
	}
	return nil
}

// isNotFound reports whether err says the canister or method does not exist.
func isNotFound(err error) bool { return registry.ErrorCode(err) == registry.ENOTFOUND }

// transportError maps an error from talking to the IC (no reject involved).
func transportError(ctx context.Context, what string, err error) error {
	var ne net.Error
	switch {
	case ctx.Err() != nil:
		return registry.WrapError(registry.EUNAVAILABLE, fmt.Sprintf("%s: %v", what, context.Cause(ctx)), err)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled), errors.As(err, &ne):
		return registry.WrapError(registry.EUNAVAILABLE, fmt.Sprintf("%s: IC unreachable", what), err)
	}
	if status, ok := httpStatus(err); ok {
		switch {
		case status == http.StatusNotFound:
			return registry.WrapError(registry.ENOTFOUND, fmt.Sprintf("%s: not found (HTTP 404)", what), err)
		case status == http.StatusTooManyRequests || status >= 500:
			return registry.WrapError(registry.EUNAVAILABLE, fmt.Sprintf("%s: IC answered HTTP %d", what, status), err)
		}
		return registry.WrapError(registry.EUNAVAILABLE, fmt.Sprintf("%s: IC refused the request (HTTP %d)", what, status), err)
	}
	// Anything else failed verification or decoding of the IC's envelope: the answer could
	// not be trusted, which for us means no answer.
	return registry.WrapError(registry.EUNAVAILABLE, fmt.Sprintf("%s: no verifiable answer: %v", what, err), err)
}
