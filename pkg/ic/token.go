package ic

import (
	"context"
	"fmt"
	"sync"
	"time"

	"canistry/pkg/registry"

	"github.com/aviate-labs/agent-go/candid/idl"
	"github.com/aviate-labs/agent-go/principal"
)

// Token reads a token canister and reports which interfaces it found (registry.Interface*):
//   - ICRC-1 on the canister itself: icrc1_metadata, icrc1_total_supply,
//     icrc1_minting_account and icrc1_supported_standards, plus icrc1_name/symbol/decimals/fee
//     only where the metadata lacks them;
//   - a PoW token: get_all_info, falling back to get_info on older versions; when the token
//     names a ledger_id and is not itself ICRC-1, that ledger's ICRC-1 metadata fills the gaps
//     (InterfaceLedger).
//
// A canister with neither is an unsupported error. A missing method is "not implemented", not a
// failure; any other failure of a call fails the whole read.
func (c *Client) Token(ctx context.Context, id registry.CanisterID) (registry.TokenInfo, error) {
	t := registry.TokenInfo{CanisterID: id}
	found, err := c.readICRC1(ctx, id, &t, true)
	if err != nil {
		return registry.TokenInfo{}, err
	}
	if found {
		t.Interfaces = append(t.Interfaces, registry.InterfaceICRC1)
	}
	pow, err := c.readPoW(ctx, id)
	if err != nil {
		return registry.TokenInfo{}, err
	}
	if pow != nil {
		t.Interfaces = append(t.Interfaces, registry.InterfacePoW)
		mergePoW(&t, pow)
		if pow.LedgerID != nil && !found {
			ledger := registry.CanisterID(pow.LedgerID.Encode())
			var lt registry.TokenInfo
			ok, err := c.readICRC1(ctx, ledger, &lt, false)
			switch {
			case err != nil && !isNotFound(err):
				return registry.TokenInfo{}, fmt.Errorf("ledger of token %s: %w", id, err)
			case ok:
				t.Interfaces = append(t.Interfaces, registry.InterfaceLedger)
				mergeLedger(&t, &lt)
			default:
				c.logger.Warn("PoW token ledger is not an ICRC-1 ledger", "token", id, "ledger", ledger, "error", err)
			}
		}
	}
	if len(t.Interfaces) == 0 {
		return registry.TokenInfo{}, registry.Errorf(registry.EUNSUPPORTED,
			"canister %s implements neither ICRC-1 nor the PoW token interface", id)
	}
	t.UpdatedAt = c.now()
	return t, nil
}

// readICRC1 reads the ICRC-1 ledger methods of id into t. It reports false when the canister
// has no icrc1_metadata method. With full unset only metadata and total supply are read.
func (c *Client) readICRC1(ctx context.Context, id registry.CanisterID, t *registry.TokenInfo, full bool) (bool, error) {
	var md []metadataEntry
	if err := c.query(ctx, id, "icrc1_metadata", nil, &md); err != nil {
		if isNotFound(err) {
			return false, nil
		}
		return false, err
	}
	applyMetadata(t, md)
	var (
		supply, fee    idl.Nat
		minting        *account
		name, symbol   string
		decimals       uint8
		_, hasDecimals = t.Metadata["icrc1:decimals"]
		calls          = []func() error{}
	)
	optional := func(method string, out any) func() error {
		return func() error {
			if err := c.query(ctx, id, method, nil, out); err != nil && !isNotFound(err) {
				return err
			}
			return nil
		}
	}
	calls = append(calls, optional("icrc1_total_supply", &supply))
	if full {
		calls = append(calls, optional("icrc1_minting_account", &minting))
		calls = append(calls, c.declaredCalls(ctx, id, t)...)
		if t.Name == "" {
			calls = append(calls, optional("icrc1_name", &name))
		}
		if t.Symbol == "" {
			calls = append(calls, optional("icrc1_symbol", &symbol))
		}
		if !hasDecimals {
			calls = append(calls, optional("icrc1_decimals", &decimals))
		}
		if t.Fee == "" {
			calls = append(calls, optional("icrc1_fee", &fee))
		}
	}
	if err := parallel(calls); err != nil {
		return false, err
	}
	t.TotalSupply = natString(supply)
	t.Name, t.Symbol = first(t.Name, name), first(t.Symbol, symbol)
	if !hasDecimals {
		t.Decimals = decimals
	}
	t.Fee = first(t.Fee, natString(fee))
	if minting != nil {
		t.MintingAccount = minting.Owner.Encode()
	}
	return true, nil
}

// declaredCalls are the reads of what a ledger declares, each setting its own field of t (run
// with parallel, so t's other fields are not touched meanwhile): its standards (ICRC-10, else
// ICRC-1's list) and, where its metadata names one, its ICRC-106 index canister.
func (c *Client) declaredCalls(ctx context.Context, id registry.CanisterID, t *registry.TokenInfo) []func() error {
	calls := []func() error{func() error {
		standards, err := c.supportedStandards(ctx, id)
		for _, s := range standards {
			t.SupportedStandards = append(t.SupportedStandards, registry.Standard{Name: s.Name, URL: s.URL})
		}
		return err
	}}
	if _, ok := t.Metadata[icrc106Key]; ok {
		calls = append(calls, func() error {
			var err error
			t.IndexID, err = c.indexPrincipal(ctx, id)
			return err
		})
	}
	return calls
}

// icrc106Key is the metadata entry of a ledger implementing ICRC-106, which names its index
// canister (dfinity/ICRC ICRCs/ICRC-106/ICRC-106.md: the entry and icrc106_get_index_principal
// are both required and must agree).
const icrc106Key = "icrc106:index_principal"

// noICRC10Retry is how long a ledger without icrc10_supported_standards is read with ICRC-1's
// list alone before ICRC-10 is asked again (an upgrade may add it): meanwhile it costs the one
// query it did before ICRC-10.
const noICRC10Retry = time.Hour

// supportedStandards reads icrc10_supported_standards (ICRC-10), falling back to ICRC-1's
// icrc1_supported_standards on a ledger without it; nil when neither exists. A ledger found
// without ICRC-10 is remembered for noICRC10Retry, so the fallback does not cost a second
// query at every refresh.
func (c *Client) supportedStandards(ctx context.Context, id registry.CanisterID) ([]standard, error) {
	var out []standard
	now := c.now()
	if until, ok := c.noICRC10.Load(id); !ok || !now.Before(until.(time.Time)) {
		err := c.query(ctx, id, "icrc10_supported_standards", nil, &out)
		if !isNotFound(err) {
			c.noICRC10.Delete(id)
			return out, err
		}
		c.noICRC10.Store(id, now.Add(noICRC10Retry))
		out = nil
	}
	err := c.query(ctx, id, "icrc1_supported_standards", nil, &out)
	return out, optionalErr(err)
}

// indexPrincipalResult is ICRC-106's GetIndexPrincipalResult.
type indexPrincipalResult struct {
	Ok  *principal.Principal `ic:"Ok,variant"`
	Err *indexPrincipalError `ic:"Err,variant"`
}

type indexPrincipalError struct {
	NotSet       *idl.Null `ic:"IndexPrincipalNotSet,variant"`
	GenericError *struct {
		ErrorCode   idl.Nat `ic:"error_code"`
		Description string  `ic:"description"`
	} `ic:"GenericError,variant"`
}

// indexPrincipal reads icrc106_get_index_principal; "" when the ledger lacks the method or
// answers Err (IndexPrincipalNotSet).
func (c *Client) indexPrincipal(ctx context.Context, id registry.CanisterID) (string, error) {
	var res indexPrincipalResult
	err := c.query(ctx, id, "icrc106_get_index_principal", nil, &res)
	if err != nil || res.Ok == nil {
		return "", optionalErr(err)
	}
	return res.Ok.Encode(), nil
}

// applyMetadata sets t.Metadata from an icrc1_metadata reply, and the name, symbol, decimals,
// fee and logo that it carries under their icrc1: keys.
func applyMetadata(t *registry.TokenInfo, md []metadataEntry) {
	t.Metadata = make(map[string]any, len(md))
	for _, e := range md {
		t.Metadata[e.Key] = metadataJSON(e.Value)
		switch v := e.Value; e.Key {
		case "icrc1:name":
			t.Name = deref(v.Text)
		case "icrc1:symbol":
			t.Symbol = deref(v.Text)
		case "icrc1:decimals":
			if v.Nat != nil && v.Nat.BigInt() != nil && v.Nat.BigInt().IsUint64() && v.Nat.BigInt().Uint64() <= 255 {
				t.Decimals = uint8(v.Nat.BigInt().Uint64())
			}
		case "icrc1:fee":
			if v.Nat != nil {
				t.Fee = natString(*v.Nat)
			}
		case "icrc1:logo":
			setLogo(t, deref(v.Text))
		}
	}
}

// readPoW reads get_all_info, or get_info where get_all_info is missing or answers Err. It
// returns nil when the canister has neither method.
func (c *Client) readPoW(ctx context.Context, id registry.CanisterID) (*powTokenInfo, error) {
	var firstErr error
	for _, method := range []string{"get_all_info", "get_info"} {
		var res powTokenResult
		err := c.query(ctx, id, method, nil, &res)
		switch {
		case isNotFound(err):
			continue
		case err != nil:
			return nil, err
		case res.Ok != nil:
			return res.Ok, nil
		}
		if firstErr == nil {
			firstErr = registry.Errorf(registry.EUNAVAILABLE, "canister %s: %s returned Err: %s", id, method, deref(res.Err))
		}
	}
	return nil, firstErr
}

func mergePoW(t *registry.TokenInfo, p *powTokenInfo) {
	t.Name = first(t.Name, p.Name)
	t.Symbol = first(t.Symbol, p.Ticker)
	if t.Decimals == 0 {
		t.Decimals = p.Decimals
	}
	t.Fee = first(t.Fee, natString(p.TransferFee))
	t.TotalSupply = first(t.TotalSupply, natString(p.TotalSupply))
	if p.LedgerID != nil {
		t.LedgerID = p.LedgerID.Encode()
	}
	t.BlockHeight = natString(p.CurrentBlockHeight)
	t.BlockReward = natString(p.CurrentBlockReward)
	t.CirculatingSupply = natString(p.CirculatingSupply)
	t.AverageBlockTime = p.AverageBlockTime
	t.MiningProgressPercent = p.MiningProgressPercentage
	if p.SocialLinks != nil {
		for _, l := range *p.SocialLinks {
			t.SocialLinks = append(t.SocialLinks, registry.SocialLink{Platform: l.Platform, URL: l.URL})
		}
	}
	if t.Logo == nil && t.LogoURL == "" && p.Logo != nil {
		setLogo(t, *p.Logo)
	}
}

// mergeLedger fills what the PoW token did not report from its ledger's ICRC-1 metadata.
func mergeLedger(t, l *registry.TokenInfo) {
	t.Name, t.Symbol, t.Fee = first(t.Name, l.Name), first(t.Symbol, l.Symbol), first(t.Fee, l.Fee)
	if t.Decimals == 0 {
		t.Decimals = l.Decimals
	}
	t.Metadata = l.Metadata
	if t.Logo == nil && t.LogoURL == "" && !t.LogoDropped {
		t.Logo, t.LogoMediaType, t.LogoURL, t.LogoDropped = l.Logo, l.LogoMediaType, l.LogoURL, l.LogoDropped
	}
}

// parallel runs fs concurrently and returns the first error.
func parallel(fs []func() error) error {
	errs := make([]error, len(fs))
	var wg sync.WaitGroup
	for i, f := range fs {
		wg.Go(func() { errs[i] = f() })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
