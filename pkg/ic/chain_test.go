package ic_test

import (
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/aviate-labs/agent-go/principal"

	"canistry/pkg/ic"
	"canistry/pkg/ic/ictest"
	"canistry/pkg/registry"
)

// TestClient_InstallTimes reads the certified install facts of interface spec 0.66.0 in the
// same read_state as module hash and controllers: present, absent (proved absent by the
// certificate), refused by a replica that predates the paths (one fallback read, then none
// until the retry), and still refused when the certificate is forged.
func TestClient_InstallTimes(t *testing.T) {
	created := time.Date(2024, 3, 1, 12, 0, 0, 123456789, time.UTC)
	installed := time.Date(2026, 11, 30, 8, 30, 0, 987654321, time.UTC)
	tests := []struct {
		name                  string
		setup                 func(s *ictest.Server, c *ictest.Canister)
		wantCreated, wantInst *time.Time
		wantReads             int64 // read_state requests for one Canister call
		wantHash              bool
		wantErrCode           string
	}{
		{name: "Present", setup: func(_ *ictest.Server, c *ictest.Canister) { c.SetInstallTimes(created, installed) },
			wantCreated: &created, wantInst: &installed, wantReads: 1, wantHash: true},
		{name: "CreatedBeforeRecorded", setup: func(_ *ictest.Server, c *ictest.Canister) { c.SetInstallTimes(time.Time{}, installed) },
			wantInst: &installed, wantReads: 1, wantHash: true},
		{name: "EmptyCanister", setup: func(_ *ictest.Server, c *ictest.Canister) {
			c.SetModuleHash(nil)
			c.SetInstallTimes(created, time.Time{})
		}, wantCreated: &created, wantReads: 1},
		{name: "OldReplicaRefusesPaths", setup: func(s *ictest.Server, c *ictest.Canister) {
			c.SetInstallTimes(created, installed)
			s.SetInstallTimesCertified(false)
		}, wantReads: 2, wantHash: true},
		{name: "ForgedDelegation", setup: func(_ *ictest.Server, c *ictest.Canister) {
			c.SetInstallTimes(created, installed)
			c.SetFault(ictest.FaultForgedDelegation)
		}, wantReads: 1, wantErrCode: registry.EUNAVAILABLE},
		{name: "WrongKey", setup: func(_ *ictest.Server, c *ictest.Canister) {
			c.SetInstallTimes(created, installed)
			c.SetFault(ictest.FaultWrongKey)
		}, wantReads: 1, wantErrCode: registry.EUNAVAILABLE},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, s := newClient(t)
			id := canisterID(42)
			can := s.AddCanister(id, hash32(7), canisterID(1))
			tt.setup(s, can)
			before := s.Requests(ictest.RequestReadState)
			st, err := c.Canister(t.Context(), regID(id))
			if got := s.Requests(ictest.RequestReadState) - before; got != tt.wantReads {
				t.Errorf("read_states = %d, want %d", got, tt.wantReads)
			}
			if tt.wantErrCode != "" {
				wantCode(t, err, tt.wantErrCode)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (st.ModuleHash != "") != tt.wantHash || !slices.Equal(st.Controllers, []string{canisterID(1).Encode()}) {
				t.Errorf("state %+v", st)
			}
			wantTime(t, "created", st.CreatedAt, tt.wantCreated)
			wantTime(t, "last installed", st.LastInstalledAt, tt.wantInst)
		})
	}
	t.Run("OldReplicaOneFallbackThenPlain", func(t *testing.T) {
		c, s := newClient(t)
		id := canisterID(43)
		s.AddCanister(id, hash32(7), canisterID(1))
		s.SetInstallTimesCertified(false)
		for range 3 {
			if _, err := c.Canister(t.Context(), regID(id)); err != nil {
				t.Fatal(err)
			}
		}
		if got := s.Requests(ictest.RequestReadState); got != 4 { // 1 refused + 3 plain
			t.Errorf("read_states = %d, want 4 (one refused, then one per read)", got)
		}
	})
}

func wantTime(t *testing.T, what string, got, want *time.Time) {
	t.Helper()
	switch {
	case want == nil && got != nil:
		t.Errorf("%s = %v, want absent", what, got)
	case want != nil && (got == nil || !got.Equal(*want)):
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// TestClient_PublicStatus reads canister_status as a query of the management canister with
// the canister as effective canister id: answered for a public status, one refused query for a
// private one.
func TestClient_PublicStatus(t *testing.T) {
	c, s := newClient(t)
	cycles := bigNat(t, "98765432109876543210")
	pub := s.AddCanister(canisterID(50), hash32(1), canisterID(1))
	pub.SetStatus(ictest.CanisterStatus{Status: "stopping", Cycles: cycles, MemorySize: big.NewInt(4096), IdleCyclesBurnedPerDay: big.NewInt(10)})
	pub.SetStatusPublic(true)
	priv := s.AddCanister(canisterID(51), hash32(1), canisterID(1))
	priv.SetStatus(ictest.CanisterStatus{Cycles: cycles})

	st, err := c.PublicStatus(t.Context(), regID(pub.ID()))
	if err != nil {
		t.Fatal(err)
	}
	if st.Source != registry.CyclesPublicStatus || st.Cycles != cycles.String() || st.Status != "stopping" ||
		st.MemorySize != "4096" || st.IdleCyclesPerDay != "10" || st.RunwayDays() != "9876543210987654321" {
		t.Errorf("public status %+v", st)
	}
	before := s.Requests(ictest.RequestQuery)
	_, err = c.PublicStatus(t.Context(), regID(priv.ID()))
	if !ic.IsStatusPrivate(err) {
		t.Fatalf("private status: err %v, want forbidden", err)
	}
	if n := s.Requests(ictest.RequestQuery) - before; n != 1 {
		t.Errorf("a private status cost %d queries, want 1", n)
	}
	_, err = c.PublicStatus(t.Context(), regID(canisterID(52)))
	if ic.IsStatusPrivate(err) || err == nil {
		t.Errorf("missing canister: err %v, want not private", err)
	}
	t.Run("BadNodeSignatureRefused", func(t *testing.T) {
		pub.SetFault(ictest.FaultBadNodeSignature)
		defer pub.SetFault(ictest.FaultNone)
		if _, err := c.PublicStatus(t.Context(), regID(pub.ID())); err == nil || ic.IsStatusPrivate(err) {
			t.Fatalf("forged query reply accepted: %v", err)
		}
	})
}

// TestClient_SNSCycles reads every canister of a DAO through its root's summary in one call.
func TestClient_SNSCycles(t *testing.T) {
	c, s := newClient(t)
	ids := ictest.SNSSummaryIDs{Root: canisterID(60), Governance: canisterID(61), Ledger: canisterID(62),
		Index: canisterID(63), Swap: canisterID(64), Archives: []principal.Principal{canisterID(65)}}
	root := s.AddCanister(ids.Root, hash32(2), ids.Governance)
	for i, p := range []principal.Principal{ids.Root, ids.Governance, ids.Ledger, ids.Index, ids.Swap, ids.Archives[0]} {
		cc := s.Canister(p)
		if cc == nil {
			cc = s.AddCanister(p, hash32(3), ids.Root)
		}
		cc.SetStatus(ictest.CanisterStatus{Cycles: big.NewInt(int64(1000 + i)), MemorySize: big.NewInt(1), IdleCyclesBurnedPerDay: big.NewInt(10)})
	}
	s.InstallSNSSummary(root, func() ictest.SNSSummaryIDs { return ids })
	before := s.Requests(ictest.RequestCall)
	got, err := c.SNSCycles(t.Context(), regID(ids.Root))
	if err != nil {
		t.Fatal(err)
	}
	if n := s.Requests(ictest.RequestCall) - before; n != 1 {
		t.Errorf("calls = %d, want 1", n)
	}
	if len(got) != 6 {
		t.Fatalf("got %d canisters, want 6: %v", len(got), got)
	}
	if p := got[regID(ids.Archives[0])]; p.Cycles != "1005" || p.Source != registry.CyclesSNSRoot || p.RunwayDays() != "100" {
		t.Errorf("archive point %+v", p)
	}
}

// TestClient_ICRCStandards reads ICRC-10 standards (falling back to ICRC-1's list) and the
// ICRC-106 index principal.
func TestClient_ICRCStandards(t *testing.T) {
	index := canisterID(71)
	std := func(names ...string) []ictest.Standard {
		out := []ictest.Standard{}
		for _, n := range names {
			out = append(out, ictest.Standard{Name: n, URL: "https://github.com/dfinity/ICRC/" + n})
		}
		return out
	}
	tests := []struct {
		name       string
		info       ictest.LedgerInfo
		wantStd    []string
		wantIndex  string
		privileged bool
	}{
		{"ICRC10AndIndex", ictest.LedgerInfo{Symbol: "AAA", ICRC10: true, IndexPrincipal: &index,
			Standards: std("ICRC-1", "ICRC-2", "ICRC-3", "ICRC-10", "ICRC-106", "ICRC-152")},
			[]string{"ICRC-1", "ICRC-2", "ICRC-3", "ICRC-10", "ICRC-106", "ICRC-152"}, index.Encode(), true},
		{"ICRC1Fallback", ictest.LedgerInfo{Symbol: "BBB", Standards: std("ICRC-1", "ICRC-2")},
			[]string{"ICRC-1", "ICRC-2"}, "", false},
		{"IndexNotSet", ictest.LedgerInfo{Symbol: "CCC", ICRC10: true, Standards: std("ICRC-1", "ICRC-106", "ICRC-154"),
			ExtraMetadata: []ictest.MetadataEntry{{Key: "icrc106:index_principal", Value: ictest.TextValue("")}}},
			[]string{"ICRC-1", "ICRC-106", "ICRC-154"}, "", true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, s := newClient(t)
			id := canisterID(80 + uint64(i))
			s.AddCanister(id, hash32(4)).Install(ictest.NewLedger(tt.info))
			tok, err := c.Token(t.Context(), regID(id))
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, s := range tok.SupportedStandards {
				names = append(names, s.Name)
			}
			if !slices.Equal(names, tt.wantStd) || tok.IndexID != tt.wantIndex || tok.Privileged() != tt.privileged {
				t.Errorf("standards %v index %q privileged %v", names, tok.IndexID, tok.Privileged())
			}
		})
	}
}

// TestClient_NoICRC10Remembered: a ledger without ICRC-10 costs its fallback query once; later
// reads ask ICRC-1's list alone (no added round trip per refresh).
func TestClient_NoICRC10Remembered(t *testing.T) {
	c, s := newClient(t)
	id := canisterID(90)
	s.AddCanister(id, hash32(4)).Install(ictest.NewLedger(ictest.LedgerInfo{Symbol: "OLD",
		Standards: []ictest.Standard{{Name: "ICRC-1", URL: "u"}}}))
	queries := func() int64 {
		before := s.Requests(ictest.RequestQuery)
		tok, err := c.Token(t.Context(), regID(id))
		if err != nil || len(tok.SupportedStandards) != 1 {
			t.Fatalf("token %+v %v", tok, err)
		}
		return s.Requests(ictest.RequestQuery) - before
	}
	first, second := queries(), queries()
	if second != first-1 {
		t.Errorf("queries: %d then %d, want one fewer once ICRC-10 is known to be missing", first, second)
	}
}

// TestClient_SNSCyclesOfInstalledDAO: a DAO installed as discovery finds it (ictest.InstallSNS)
// reports every canister's cycles through its root's summary.
func TestClient_SNSCyclesOfInstalledDAO(t *testing.T) {
	c, s := newClient(t)
	dao := s.InstallSNS(ictest.SNSSpec{First: 7000, Symbol: "DAO", Name: "A DAO", Archives: 2})
	got, err := c.SNSCycles(t.Context(), regID(dao.Root.Canister().ID()))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 7 { // root, governance, ledger, index, swap, two archives
		t.Fatalf("%d canisters: %v", len(got), got)
	}
	if p := got[regID(ictest.CanisterID(7000))]; p.Cycles != "10000000000000" || p.Source != registry.CyclesSNSRoot {
		t.Errorf("root %+v", p)
	}
}
