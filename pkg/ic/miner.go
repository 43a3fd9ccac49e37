package ic

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"

	"canistry/pkg/registry"

	"github.com/aviate-labs/agent-go/candid/idl"
	"github.com/aviate-labs/agent-go/certification/hashtree"
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

// Canister reads the certified module hash and controllers of id in one read_state, whose
// certificate the client's certVerifier checks (its signature every time, the subnet delegation
// once per distinct delegation). A canister without a /canister/<id>/controllers entry does not
// exist (not_found); one without a module hash is empty (ModuleHash "").
func (c *Client) Canister(ctx context.Context, id registry.CanisterID) (registry.CanisterState, error) {
	p := id.Principal()
	mhPath := []hashtree.Label{hashtree.Label("canister"), p.Raw, hashtree.Label("module_hash")}
	ctrlPath := []hashtree.Label{hashtree.Label("canister"), p.Raw, hashtree.Label("controllers")}
	root, err := c.canisterState(ctx, p, [][]hashtree.Label{mhPath, ctrlPath})
	if err != nil {
		return registry.CanisterState{}, transportError(ctx, fmt.Sprintf("canister %s: read_state", id), err)
	}
	var st registry.CanisterState
	var lerr hashtree.LookupError
	mh, err := hashtree.Lookup(root, mhPath...)
	switch {
	case err == nil:
		st.ModuleHash = hex.EncodeToString(mh)
	case !errors.As(err, &lerr) || lerr.Type != hashtree.LookupResultAbsent:
		return registry.CanisterState{}, transportError(ctx, fmt.Sprintf("canister %s: module hash", id), err)
	}
	raw, err := hashtree.Lookup(root, ctrlPath...)
	switch {
	case errors.As(err, &lerr) && lerr.Type == hashtree.LookupResultAbsent:
		return registry.CanisterState{}, registry.WrapError(registry.ENOTFOUND, fmt.Sprintf("canister %s does not exist", id), err)
	case err != nil:
		return registry.CanisterState{}, transportError(ctx, fmt.Sprintf("canister %s: controllers", id), err)
	}
	var ctrls [][]byte
	if err := cbor.Unmarshal(raw, &ctrls); err != nil {
		return registry.CanisterState{}, registry.WrapError(registry.EUNSUPPORTED, fmt.Sprintf("canister %s: controllers are not a CBOR list of principals", id), err)
	}
	st.Controllers = make([]string, len(ctrls))
	for i, b := range ctrls {
		st.Controllers[i] = principal.Principal{Raw: b}.Encode()
	}
	return st, nil
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
