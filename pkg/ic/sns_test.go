package ic_test

import (
	"slices"
	"testing"

	"canistry/pkg/ic"
	"canistry/pkg/ic/ictest"
	"canistry/pkg/registry"

	"github.com/aviate-labs/agent-go/principal"
)

func TestClient_SNSDiscovery(t *testing.T) {
	c, s := newClient(t)
	daos := []*ictest.SNS{
		s.InstallSNS(ictest.SNSSpec{First: 100, Symbol: "CHAT", Name: "OpenChat", Archives: 2}),
		s.InstallSNS(ictest.SNSSpec{First: 200, Symbol: "KINIC", Name: "Kinic"}),
	}
	snsw := registry.CanisterID(ictest.SNSWasmID)

	t.Run("OK", func(t *testing.T) {
		got, err := c.DeployedSNSes(t.Context(), snsw)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 {
			t.Fatalf("DeployedSNSes = %d instances, want 2: %+v", len(got), got)
		}
		for i, d := range daos {
			ids := d.Root.Canisters()
			want := registry.SNSCanisters{Root: regID(ids.Root), Governance: regID(ids.Governance), Ledger: regID(ids.Ledger),
				Index: regID(ids.Index), Swap: regID(ids.Swap)}
			if !equalSNS(got[i], want) {
				t.Errorf("instance %d = %+v, want %+v", i, got[i], want)
			}
			full, err := c.SNSCanisters(t.Context(), want.Root)
			if err != nil {
				t.Fatal(err)
			}
			want.Archives = ids2(ids.Archives)
			if !equalSNS(full, want) {
				t.Errorf("SNSCanisters(%s) = %+v, want %+v", want.Root, full, want)
			}
		}
		sym, err := c.LedgerSymbol(t.Context(), regID(daos[0].Root.Canisters().Ledger))
		if err != nil || sym != "CHAT" {
			t.Errorf("LedgerSymbol = %q, %v; want CHAT", sym, err)
		}
	})
	t.Run("ArchiveAdded", func(t *testing.T) {
		daos[1].Root.AddArchive(canisterID(299))
		full, err := c.SNSCanisters(t.Context(), regID(daos[1].Root.Canisters().Root))
		if err != nil || !slices.Equal(full.Archives, []registry.CanisterID{regID(canisterID(299))}) {
			t.Errorf("archives = %v, %v", full.Archives, err)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := c.SNSCanisters(t.Context(), regID(canisterID(999)))
		wantCode(t, err, registry.ENOTFOUND)
		_, err = c.SNSCanisters(t.Context(), regID(daos[0].Root.Canisters().Governance)) // no such method
		wantCode(t, err, registry.ENOTFOUND)
	})
	t.Run("Refused", func(t *testing.T) {
		root := daos[0].Root.Canister()
		root.RejectWith("list_sns_canisters", ictest.RejectCanisterReject, "IC0406", "refused")
		defer daos[0].Root.Install(root)
		_, err := c.SNSCanisters(t.Context(), regID(root.ID()))
		if err == nil {
			t.Fatal("a refused list_sns_canisters succeeded")
		}
	})
	t.Run("ForgedCertificate", func(t *testing.T) {
		w := s.Canister(principal.MustDecode(ictest.SNSWasmID))
		for _, f := range []ictest.Fault{ictest.FaultBadNodeSignature, ictest.FaultWrongKey, ictest.FaultForgedDelegation} {
			fresh, err := ic.New(t.Context(), ic.Config{URL: s.URL(), FetchRootKey: true, VerifyQuerySignatures: true})
			if err != nil {
				t.Fatal(err)
			}
			w.SetFault(f)
			_, err = fresh.DeployedSNSes(t.Context(), snsw)
			w.SetFault(ictest.FaultNone)
			wantCode(t, err, registry.EUNAVAILABLE)
		}
	})
}

func ids2(ps []principal.Principal) []registry.CanisterID {
	var out []registry.CanisterID
	for _, p := range ps {
		out = append(out, regID(p))
	}
	return out
}

func equalSNS(a, b registry.SNSCanisters) bool {
	return a.Root == b.Root && a.Governance == b.Governance && a.Ledger == b.Ledger && a.Index == b.Index &&
		a.Swap == b.Swap && slices.Equal(a.Archives, b.Archives)
}
