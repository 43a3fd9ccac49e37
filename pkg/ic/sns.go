package ic

import (
	"context"

	"github.com/aviate-labs/agent-go/principal"

	"canistry/pkg/registry"
)

// SNS discovery reads. Candid from dfinity/ic: rs/nns/sns-wasm/canister/sns-wasm.did (commit
// 02f6d5dc7dd312c7d81b037f0333cf3f05c0f351), list_deployed_snses : (record {}) ->
// (ListDeployedSnsesResponse) query; rs/sns/root/canister/root.did (commit
// 02e269e424a66415b2e1646926677a0bae79743b), list_sns_canisters : (record {}) ->
// (ListSnsCanistersResponse) query. Fields not read here (dapps, extensions) are skipped when
// decoding, and every id is opt: a missing one stays empty.

// SNSWasm is SNS-W's canister id on mainnet.
const SNSWasm registry.CanisterID = "qaa6y-5yaaa-aaaaa-aaafa-cai"

type emptyRecord struct{}

type deployedSNS struct {
	Root       *principal.Principal `ic:"root_canister_id"`
	Governance *principal.Principal `ic:"governance_canister_id"`
	Index      *principal.Principal `ic:"index_canister_id"`
	Swap       *principal.Principal `ic:"swap_canister_id"`
	Ledger     *principal.Principal `ic:"ledger_canister_id"`
}

type listDeployedSNSes struct {
	Instances []deployedSNS `ic:"instances"`
}

type listSNSCanisters struct {
	Root       *principal.Principal  `ic:"root"`
	Swap       *principal.Principal  `ic:"swap"`
	Ledger     *principal.Principal  `ic:"ledger"`
	Index      *principal.Principal  `ic:"index"`
	Governance *principal.Principal  `ic:"governance"`
	Archives   []principal.Principal `ic:"archives"`
}

func idOf(p *principal.Principal) registry.CanisterID {
	if p == nil || len(p.Raw) == 0 {
		return ""
	}
	return registry.CanisterID(p.Encode())
}

// DeployedSNSes lists the SNSes that SNS-W (snsw) has deployed, as it reports them (no
// archives; an instance without a root is dropped: nothing could be asked about it).
func (c *Client) DeployedSNSes(ctx context.Context, snsw registry.CanisterID) ([]registry.SNSCanisters, error) {
	var out listDeployedSNSes
	if err := c.query(ctx, snsw, "list_deployed_snses", []any{emptyRecord{}}, &out); err != nil {
		return nil, err
	}
	snses := make([]registry.SNSCanisters, 0, len(out.Instances))
	for _, d := range out.Instances {
		if d.Root == nil {
			continue
		}
		snses = append(snses, registry.SNSCanisters{Root: idOf(d.Root), Governance: idOf(d.Governance),
			Ledger: idOf(d.Ledger), Index: idOf(d.Index), Swap: idOf(d.Swap)})
	}
	return snses, nil
}

// SNSCanisters reads the canisters of the SNS whose root is root, from the root itself.
func (c *Client) SNSCanisters(ctx context.Context, root registry.CanisterID) (registry.SNSCanisters, error) {
	var out listSNSCanisters
	if err := c.query(ctx, root, "list_sns_canisters", []any{emptyRecord{}}, &out); err != nil {
		return registry.SNSCanisters{}, err
	}
	s := registry.SNSCanisters{Root: idOf(out.Root), Governance: idOf(out.Governance), Ledger: idOf(out.Ledger),
		Index: idOf(out.Index), Swap: idOf(out.Swap)}
	if s.Root == "" {
		s.Root = root
	}
	for i := range out.Archives {
		if id := idOf(&out.Archives[i]); id != "" {
			s.Archives = append(s.Archives, id)
		}
	}
	return s, nil
}

// LedgerSymbol reads an ICRC-1 ledger's icrc1_symbol.
func (c *Client) LedgerSymbol(ctx context.Context, ledger registry.CanisterID) (string, error) {
	var sym string
	if err := c.query(ctx, ledger, "icrc1_symbol", nil, &sym); err != nil {
		return "", err
	}
	return sym, nil
}
