package ic

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"canistry/pkg/registry"

	"github.com/aviate-labs/agent-go/candid/idl"
	"github.com/aviate-labs/agent-go/certification/hashtree"
	"github.com/aviate-labs/agent-go/leb128"
	"github.com/aviate-labs/agent-go/principal"
	"github.com/fxamacker/cbor/v2"
)

// Miner reads a miner canister: get_info (required), get_mining_stats and get_cycle_usage
// (optional: a missing method sets SupportsStats / SupportsCycleUsage to false). The stats are
// nil when the method is missing or the miner has none yet (opt null).
func (c *Client) Miner(ctx context.Context, id registry.CanisterID) (registry.MinerInfo, *registry.MinerStats, error) {
	var (
		info  minerInfoResult
		stats *miningStats
		usage cycleUsage
		errs  [3]error
	)
	err := parallel([]func() error{
		func() error { return c.query(ctx, id, "get_info", nil, &info) },
		func() error { errs[1] = c.query(ctx, id, "get_mining_stats", nil, &stats); return optionalErr(errs[1]) },
		func() error { errs[2] = c.query(ctx, id, "get_cycle_usage", nil, &usage); return optionalErr(errs[2]) },
	})
	if err != nil {
		return registry.MinerInfo{}, nil, err
	}
	if info.Ok == nil {
		return registry.MinerInfo{}, nil, registry.Errorf(registry.EUNAVAILABLE, "canister %s: get_info returned Err: %s", id, deref(info.Err))
	}
	now := c.now()
	m := registry.MinerInfo{
		CanisterID:         id,
		IsMining:           info.Ok.IsMining,
		SpeedPercentage:    info.Ok.SpeedPercentage,
		ChunkSize:          info.Ok.ChunkSize,
		ChunksPerRefresh:   info.Ok.ChunksPerRefresh,
		ICRCVersion:        info.Ok.ICRCVersion,
		SupportsStats:      errs[1] == nil,
		SupportsCycleUsage: errs[2] == nil,
		UpdatedAt:          now,
	}
	if info.Ok.CurrentToken != nil {
		m.CurrentToken = info.Ok.CurrentToken.Encode()
	}
	if m.SupportsCycleUsage {
		m.CycleBalance = natString(usage.CurrentBalance)
		m.CycleUsagePerHour = usage.UsageRatePerHour
		if usage.UsageLast15Min != nil {
			m.CycleUsageLast15Min = natString(*usage.UsageLast15Min)
		}
		m.EstimatedRemainingTime = deref(usage.EstimatedRemainingTime)
	}
	if stats == nil {
		return m, nil, nil
	}
	return m, &registry.MinerStats{
		CanisterID:         id,
		ObservedAt:         now,
		BlocksMined:        stats.BlocksMined,
		TotalHashes:        stats.TotalHashes,
		HashRate:           stats.LastHashRate,
		TotalRewards:       stats.TotalRewards,
		ChunksSinceRefresh: stats.ChunksSinceRefresh,
		StartTime:          stats.StartTime,
	}, nil
}

// optionalErr drops "method not found" for an optional method.
func optionalErr(err error) error {
	if isNotFound(err) {
		return nil
	}
	return err
}

// Wallet reads id's balance (default subaccount) in each ledger with icrc1_balance_of. It
// returns the balances of the ledgers that answered, in the order given, and joins the errors
// of those that did not (each a *registry.Error naming the ledger).
func (c *Client) Wallet(ctx context.Context, id registry.CanisterID, ledgers []registry.CanisterID) ([]registry.Balance, error) {
	amounts := make([]string, len(ledgers))
	errs := make([]error, len(ledgers))
	calls := make([]func() error, len(ledgers))
	for i, l := range ledgers {
		calls[i] = func() error {
			var amount idl.Nat
			errs[i] = c.query(ctx, l, "icrc1_balance_of", []any{account{Owner: id.Principal()}}, &amount)
			amounts[i] = natString(amount)
			return nil
		}
	}
	_ = parallel(calls)
	now := c.now()
	var out []registry.Balance
	for i, l := range ledgers {
		if errs[i] != nil {
			errs[i] = fmt.Errorf("balance of %s in ledger %s: %w", id, l, errs[i])
			continue
		}
		out = append(out, registry.Balance{Wallet: id, Ledger: l, Amount: amounts[i], UpdatedAt: now})
	}
	return out, errors.Join(errs...)
}

// Canister reads the certified module hash, controllers, creation time and last install time
// of id in one read_state, whose certificate the client's certVerifier checks (its signature
// every time, the subnet delegation once per distinct delegation). A canister without a
// /canister/<id>/controllers entry does not exist (not_found); one without a module hash is
// empty (ModuleHash ""). The two timestamps (interface spec 0.66.0:
// /canister/<id>/canister_creation_timestamp and last_install_timestamp, naturals of
// nanoseconds since 1970, LEB128-encoded as every natural in the state tree) are nil where
// the certificate proves them absent: a replica that predates them, a canister created or
// installed before the IC recorded it, or an empty one.
func (c *Client) Canister(ctx context.Context, id registry.CanisterID) (registry.CanisterState, error) {
	p := id.Principal()
	path := func(leaf string) []hashtree.Label {
		return []hashtree.Label{hashtree.Label("canister"), p.Raw, hashtree.Label(leaf)}
	}
	mhPath, ctrlPath := path("module_hash"), path("controllers")
	createdPath, installedPath := path("canister_creation_timestamp"), path("last_install_timestamp")
	root, err := c.canisterStateWithInstallTimes(ctx, p, [][]hashtree.Label{mhPath, ctrlPath}, createdPath, installedPath)
	if err != nil {
		return registry.CanisterState{}, transportError(ctx, fmt.Sprintf("canister %s: read_state", id), err)
	}
	var st registry.CanisterState
	mh, found, err := lookupOptional(root, mhPath)
	if err != nil {
		return registry.CanisterState{}, transportError(ctx, fmt.Sprintf("canister %s: module hash", id), err)
	}
	if found {
		st.ModuleHash = hex.EncodeToString(mh)
	}
	if st.Controllers, err = certifiedControllers(ctx, id, root, ctrlPath); err != nil {
		return registry.CanisterState{}, err
	}
	for _, t := range []struct {
		path []hashtree.Label
		out  **time.Time
		what string
	}{{createdPath, &st.CreatedAt, "creation timestamp"}, {installedPath, &st.LastInstalledAt, "last install timestamp"}} {
		if *t.out, err = certifiedTime(root, t.path); err != nil {
			return registry.CanisterState{}, registry.WrapError(registry.EUNSUPPORTED,
				fmt.Sprintf("canister %s: %s: %v", id, t.what, err), err)
		}
	}
	return st, nil
}

// lookupOptional looks path up in root: found is false when the tree proves it absent; any
// other failure (unknown: pruned away, or an error) is an error.
func lookupOptional(root hashtree.Node, path []hashtree.Label) (value []byte, found bool, err error) {
	v, err := hashtree.Lookup(root, path...)
	var lerr hashtree.LookupError
	switch {
	case err == nil:
		return v, true, nil
	case errors.As(err, &lerr) && lerr.Type == hashtree.LookupResultAbsent:
		return nil, false, nil
	}
	return nil, false, err
}

// certifiedControllers decodes /canister/<id>/controllers; its absence means no such canister.
func certifiedControllers(ctx context.Context, id registry.CanisterID, root hashtree.Node, path []hashtree.Label) ([]string, error) {
	raw, found, err := lookupOptional(root, path)
	switch {
	case err != nil:
		return nil, transportError(ctx, fmt.Sprintf("canister %s: controllers", id), err)
	case !found:
		return nil, registry.Errorf(registry.ENOTFOUND, "canister %s does not exist", id)
	}
	var ctrls [][]byte
	if err := cbor.Unmarshal(raw, &ctrls); err != nil {
		return nil, registry.WrapError(registry.EUNSUPPORTED, fmt.Sprintf("canister %s: controllers are not a CBOR list of principals", id), err)
	}
	out := make([]string, len(ctrls))
	for i, b := range ctrls {
		out[i] = principal.Principal{Raw: b}.Encode()
	}
	return out, nil
}

// certifiedTime decodes a certified natural of nanoseconds since 1970 (LEB128); nil when the
// tree proves the path absent.
func certifiedTime(root hashtree.Node, path []hashtree.Label) (*time.Time, error) {
	raw, found, err := lookupOptional(root, path)
	if err != nil || !found {
		return nil, err
	}
	r := bytes.NewReader(raw)
	n, err := leb128.DecodeUnsigned(r)
	if err != nil || r.Len() != 0 || !n.IsInt64() {
		return nil, fmt.Errorf("%x is not a LEB128 timestamp in nanoseconds", raw)
	}
	t := time.Unix(0, n.Int64()).UTC()
	return &t, nil
}

// installPathsRetry is how long after a replica refused the install paths (HTTP 404, as one
// older than interface spec 0.66.0 refuses every path it does not know) the client reads
// without them before it asks again: meanwhile a refresh costs the one read_state it did.
const installPathsRetry = time.Hour

// canisterStateWithInstallTimes reads paths plus the install paths in one read_state, unless
// the replica refused those lately; on such a refusal it reads paths alone at once and
// remembers it for installPathsRetry.
func (c *Client) canisterStateWithInstallTimes(ctx context.Context, p principal.Principal, paths [][]hashtree.Label, install ...[]hashtree.Label) (hashtree.Node, error) {
	if c.now().UnixNano() < c.installPathsOff.Load() {
		return c.canisterState(ctx, p, paths)
	}
	root, err := c.canisterState(ctx, p, append(paths[:len(paths):len(paths)], install...))
	if status, ok := httpStatus(err); !ok || status != http.StatusNotFound || ctx.Err() != nil {
		return root, err
	}
	c.installPathsOff.Store(c.now().Add(installPathsRetry).UnixNano())
	c.logger.Info("the IC refused the certified install times (interface spec 0.66.0); reading without them",
		"canister_id", p.Encode(), "retry_in", installPathsRetry, "err", err)
	return c.canisterState(ctx, p, paths)
}

// canisterState reads paths of canister p and returns the root of the verified tree. A client
// built for agent-go's verification (benchmarks' baseline) reads it through agent-go, whose
// read_state helpers take no context: the call then runs on its own goroutine and returns as
// soon as ctx ends, the abandoned request bounded by the HTTP client's timeout.
func (c *Client) canisterState(ctx context.Context, p principal.Principal, paths [][]hashtree.Label) (hashtree.Node, error) {
	if c.agentGoCerts {
		return withoutContext(ctx, func() (hashtree.Node, error) { return c.agent.ReadStateCertificate(p, paths) })
	}
	cert, err := c.readState(ctx, p, paths)
	if err != nil {
		return nil, err
	}
	return cert.tree.Root, nil
}
