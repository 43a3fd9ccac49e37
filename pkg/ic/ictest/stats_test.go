package ictest_test

import (
	"strings"
	"testing"

	"canistry/pkg/ic/ictest"

	"github.com/aviate-labs/agent-go/certification"
	"github.com/aviate-labs/agent-go/principal"
)

// TestServer_Requests checks the request counters against what agent-go is known to send: a
// verified query is the query plus a ["subnet"] read_state.
func TestServer_Requests(t *testing.T) {
	s := ictest.NewServer(t)
	s.AddCanister(canister, make([]byte, 32)).Reply("hello", "world")
	a := newAgent(t, s, nil) // fetches the root key: one status request
	var out string
	if err := a.QueryWithContext(t.Context(), canister, "hello", nil, []any{&out}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.GetCanisterModuleHash(canister); err != nil {
		t.Fatal(err)
	}
	for kind, want := range map[string]int64{
		ictest.RequestStatus:      1,
		ictest.RequestQuery:       1,
		ictest.RequestReadState:   2,
		ictest.RequestSubnetState: 1,
		"unknown":                 0,
	} {
		if got := s.Requests(kind); got != want {
			t.Errorf("Requests(%q) = %d, want %d", kind, got, want)
		}
	}
}

// TestServer_Faults checks the signature and certificate faults against agent-go's own
// verification: of a query's node signatures, and of a read_state's certificate.
func TestServer_Faults(t *testing.T) {
	s := ictest.NewServer(t)
	a := newAgent(t, s, nil)
	query := func() error {
		var out string
		return a.QueryWithContext(t.Context(), canister, "hello", nil, []any{&out})
	}
	readState := func() error { _, err := a.GetCanisterModuleHash(canister); return err }
	for _, tc := range []struct {
		name  string
		fault ictest.Fault
		call  func() error
		want  string
	}{
		{"UnknownNode", ictest.FaultUnknownNode, query, "lookup error"},
		{"NoSignature", ictest.FaultNoSignature, query, "no signatures"},
		{"BadNodeSignature", ictest.FaultBadNodeSignature, query, "invalid replied signature"},
		{"WrongKey", ictest.FaultWrongKey, readState, "signature verification failed"},
		{"StaleCertificate", ictest.FaultStaleCertificate, readState, "outdated"},
		{"ForgedDelegation", ictest.FaultForgedDelegation, readState, "signature verification failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.AddCanister(canister, make([]byte, 32)).Reply("hello", "world")
			s.Canister(canister).SetFault(tc.fault)
			if err := tc.call(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want %q", err, tc.want)
			}
			s.Canister(canister).SetFault(ictest.FaultNone)
			if err := tc.call(); err != nil {
				t.Fatalf("healed: %v", err)
			}
		})
	}
}

// TestServer_CanisterRanges delegates only part of the id space to the subnet: agent-go
// refuses certificates for a canister outside it.
func TestServer_CanisterRanges(t *testing.T) {
	in := principal.Principal{Raw: []byte{0, 0, 0, 0, 0, 0, 0, 1, 1, 1}}
	out := principal.Principal{Raw: []byte{0, 0, 0, 0, 0, 0, 0, 9, 1, 1}}
	s, err := ictest.Start(ictest.Options{CanisterRanges: [][2]principal.Principal{{in, in}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	a := newAgent(t, s, nil)
	for _, id := range []principal.Principal{in, out} {
		s.AddCanister(id, make([]byte, 32)).Reply("hello", "world")
	}
	var reply string
	if err := a.QueryWithContext(t.Context(), in, "hello", nil, []any{&reply}); err != nil {
		t.Fatalf("canister in range: %v", err)
	}
	if _, err := a.GetCanisterModuleHash(out); err == nil || !strings.Contains(err.Error(), "not in range") {
		t.Fatalf("canister outside the ranges: err = %v, want not in range", err)
	}
}

// TestServer_RootSubnet serves root-signed certificates without delegation under mainnet's
// root subnet id, which agent-go's signed-query verification accepts.
func TestServer_RootSubnet(t *testing.T) {
	s, err := ictest.Start(ictest.Options{RootSubnet: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if got := s.SubnetID().Encode(); got != certification.RootSubnetID {
		t.Fatalf("subnet id = %s, want the root subnet id", got)
	}
	s.AddCanister(canister, make([]byte, 32)).Reply("hello", "world")
	a := newAgent(t, s, nil)
	var out string
	if err := a.QueryWithContext(t.Context(), canister, "hello", nil, []any{&out}); err != nil || out != "world" {
		t.Fatalf("query = %q, %v", out, err)
	}
	if _, err := a.GetCanisterModuleHash(canister); err != nil {
		t.Fatal(err)
	}
}
