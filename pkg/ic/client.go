// Package ic reads canisters on the Internet Computer through agent-go and returns registry
// types: token metadata, miner state, wallet balances and the certified module hash and
// controllers of any canister. Every reply is a signed query (verified against the subnet's
// node keys when VerifyQuerySignatures is set) or a BLS-certified read_state; every method
// takes a context and returns *registry.Error values.
//
// Signed-query verification is as strict as agent-go's but does its expensive part once per
// subnet instead of once per query: the subnet's node keys come from a ["subnet"] read_state
// whose certificate agent-go's certification package verifies (root key, delegation, canister
// range, freshness), and are cached for Config.NodeKeyTTL; each reply's Ed25519 node signature,
// which binds it to the request id, is checked against them.
package ic

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"canistry/pkg/config"
	"canistry/pkg/registry"

	"github.com/aviate-labs/agent-go"
	"github.com/aviate-labs/agent-go/candid"
	"github.com/aviate-labs/agent-go/identity"
	"github.com/aviate-labs/agent-go/principal"
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
	// VerifyQuerySignatures checks the node signatures on every query reply against the
	// subnet's node keys, read once per subnet through a certified read_state and cached for
	// NodeKeyTTL. The zero value turns it off; config sets it on by default. A dfx/PocketIC
	// replica cannot pass it (as agent-go, a certificate without delegation is taken to come
	// from mainnet's root subnet).
	VerifyQuerySignatures bool
	// NodeKeyTTL is how long a subnet's certified node keys are trusted; 0 means
	// DefaultNodeKeyTTL. A node removed from a subnet stays trusted until its entry expires.
	NodeKeyTTL time.Duration
	// Timeout bounds each HTTP request; 0 means DefaultTimeout. Callers bound whole calls
	// with their context.
	Timeout time.Duration
	// Logger; nil discards.
	Logger *slog.Logger
	// HTTPClient replaces the default client, NewHTTPClient(Timeout).
	HTTPClient *http.Client
}

// Client reads canisters. It is safe for concurrent use; build one per process.
type Client struct {
	agent    *agent.Agent
	ic       *agent.Client // agent-go's HTTP client: the agent's http.Client, host and API versions
	identity identity.Identity
	rootKey  []byte
	certs    *certVerifier // read_state certificates: verified delegations cached
	// agentGoCerts has Canister's read_state verified by agent-go instead (benchmark baseline).
	agentGoCerts bool
	keys         *nodeKeyCache // nil: queries go through agent-go (verification off)
	candid       *candidDecoder
	logger       *slog.Logger
	now          func() time.Time
	// installPathsOff is when (Unix ns) the install paths are asked for again after the
	// replica refused them (canisterStateWithInstallTimes); 0: ask.
	installPathsOff atomic.Int64
	// noICRC10 holds, by ledger id, until when a ledger found without icrc10_supported_standards
	// is read with icrc1_supported_standards alone (supportedStandards).
	noICRC10 sync.Map
}

// verification selects how queries are verified.
type verification int

const (
	verifyOff     verification = iota // no signature checks: agent-go's query, unverified
	verifyCached                      // our node-key cache and per-reply signature checks
	verifyAgentGo                     // agent-go's own: a ["subnet"] read_state per query (benchmarks)
)

// options are what tests may change beyond Config.
type options struct {
	verify   verification
	cacheNow func() time.Time // clock of the node-key cache
	certNow  func() time.Time // clock certificates' /time is checked against; nil: time.Now
}

// New builds a Client. With FetchRootKey it fetches /api/v2/status, which agent-go does without
// a context; New returns when ctx ends even if that request is still running (the HTTP
// client's timeout ends it).
func New(ctx context.Context, cfg Config) (*Client, error) {
	opts := options{verify: verifyOff, cacheNow: time.Now}
	if cfg.VerifyQuerySignatures {
		opts.verify = verifyCached
	}
	return newClient(ctx, cfg, opts)
}

func newClient(ctx context.Context, cfg Config, opts options) (*Client, error) {
	if cfg.URL == "" {
		cfg.URL = DefaultURL
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, registry.Errorf(registry.EINVALID, "IC URL %q must be an http or https URL", config.RedactURL(cfg.URL))
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.NodeKeyTTL <= 0 {
		cfg.NodeKeyTTL = DefaultNodeKeyTTL
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = NewHTTPClient(cfg.Timeout)
	}
	id := identity.AnonymousIdentity{}
	acfg := agent.Config{
		Identity:                       id,
		IngressExpiry:                  ingressExpiry,
		FetchRootKey:                   cfg.FetchRootKey,
		DisableSignedQueryVerification: opts.verify != verifyAgentGo,
		ClientConfig:                   []agent.ClientOption{agent.WithHostURL(u), agent.WithHttpClient(hc)},
	}
	a, err := withoutContext(ctx, func() (*agent.Agent, error) { return agent.New(acfg) })
	if err != nil {
		return nil, transportError(ctx, fmt.Sprintf("connect to IC at %s", config.RedactURL(cfg.URL)), err)
	}
	c := &Client{agent: a, ic: a.Client(), identity: id, rootKey: a.GetRootKey(), candid: newCandidDecoder(), logger: cfg.Logger, now: time.Now}
	if opts.certNow == nil {
		opts.certNow = time.Now
	}
	if c.certs, err = newCertVerifier(c.rootKey, ingressExpiry, DefaultDelegationTTL, opts.certNow); err != nil {
		return nil, registry.WrapError(registry.EINVALID, fmt.Sprintf("IC at %s: %v", config.RedactURL(cfg.URL), err), err)
	}
	c.agentGoCerts = opts.verify == verifyAgentGo
	if opts.verify == verifyCached {
		c.keys = newNodeKeyCache(c.fetchSubnetKeys, cfg.NodeKeyTTL, cfg.Timeout, opts.cacheNow)
	}
	return c, nil
}

// maxIdleConns is how many idle keep-alive connections to the IC the default client keeps:
// more than a poller at concurrency 64 has requests in flight (each canister sends its
// read_state and its kind's queries at once, a wallet one query per ledger), so a connection
// is dialled once and reused for the whole sweep.
const maxIdleConns = 1024

// NewHTTPClient is the client New uses when Config.HTTPClient is nil: each request bounded by
// timeout (0 means DefaultTimeout), keep-alive connections pooled for a concurrent poller.
// http.DefaultTransport keeps at most 100 idle connections in all, so under more concurrent
// requests than that every surplus connection was closed after its reply and dialled again
// for the next one (about one dial per canister in a sweep).
func NewHTTPClient(timeout time.Duration) *http.Client {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = maxIdleConns, maxIdleConns
	return &http.Client{Timeout: timeout, Transport: tr}
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
		v, err := recovered(f)
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

// recovered calls f and turns a panic into an error: agent-go panics on some malformed
// answers (a hash tree given as an empty CBOR array, a query reply with an unknown status).
func recovered[T any](f func() (T, error)) (v T, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("malformed answer from the IC: %v", p)
		}
	}()
	return f()
}

// query calls a query method with Candid args and decodes the reply into out (pointers, one
// per reply value). The reply is verified before it is decoded here (when verification is
// on), so a decoding failure is reported as such, naming the method and both types.
func (c *Client) query(ctx context.Context, id registry.CanisterID, method string, args []any, out ...any) error {
	p := id.Principal()
	return c.queryAt(ctx, p, p, id, method, args, out...)
}

// queryAt is query of method on canister target, sent to the effective canister ecid (the
// same canister except for the management canister, aaaaa-aa, whose queries go to the
// canister they are about). name names the canister in errors.
func (c *Client) queryAt(ctx context.Context, target, ecid principal.Principal, name registry.CanisterID, method string, args []any, out ...any) error {
	if args == nil {
		args = []any{}
	}
	arg, err := candid.Marshal(args)
	if err != nil {
		return fmt.Errorf("encode %s arguments: %w", method, err)
	}
	var raw []byte
	if c.keys != nil {
		raw, err = c.verifiedQuery(ctx, target, ecid, method, arg)
	} else {
		raw, err = recovered(func() ([]byte, error) { return c.agentQuery(ctx, target, ecid, method, arg) })
	}
	if err != nil {
		return callError(ctx, name, method, err)
	}
	if err := c.candid.unmarshal(raw, out); err != nil {
		return decodeError(name, method, raw, out, err)
	}
	return nil
}

// agentQuery is a query through agent-go alone: unverified, or verified by agent-go itself
// when the agent was built with signed-query verification (benchmarks compare against that).
func (c *Client) agentQuery(ctx context.Context, target, ecid principal.Principal, method string, arg []byte) ([]byte, error) {
	req, err := agent.CreateAPIRequest(c.agent, func(b []byte) ([]byte, error) { return b, nil },
		func(raw []byte, out *[]byte) error { *out = raw; return nil }, agent.RequestTypeQuery, target, ecid, method, arg)
	if err != nil {
		return nil, fmt.Errorf("build %s request: %w", method, err)
	}
	var raw []byte
	if err := req.QueryWithContext(ctx, &raw, false); err != nil {
		return nil, err
	}
	return raw, nil
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
