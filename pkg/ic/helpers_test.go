package ic_test

import (
	"math/big"
	"testing"

	"canistry/pkg/ic"
	"canistry/pkg/ic/ictest"
	"canistry/pkg/registry"

	"github.com/aviate-labs/agent-go/principal"
)

// newClient starts a replica double and a Client pointed at it with signed-query
// verification on.
func newClient(t *testing.T) (*ic.Client, *ictest.Server) {
	t.Helper()
	s := ictest.NewServer(t)
	return newBenchClient(t, s), s
}

// newBenchClient returns a verifying Client for s.
func newBenchClient(tb testing.TB, s *ictest.Server) *ic.Client {
	tb.Helper()
	c, err := ic.New(tb.Context(), ic.Config{URL: s.URL(), FetchRootKey: true, VerifyQuerySignatures: true})
	if err != nil {
		tb.Fatalf("ic.New: %v", err)
	}
	return c
}

// canisterID returns the n-th test canister id (canister-style: 8 bytes of n, then 0x01 0x01).
func canisterID(n uint64) principal.Principal {
	raw := make([]byte, 10)
	big.NewInt(0).SetUint64(n).FillBytes(raw[:8])
	raw[8], raw[9] = 0x01, 0x01
	return principal.Principal{Raw: raw}
}

func regID(p principal.Principal) registry.CanisterID { return registry.CanisterID(p.Encode()) }

// hash32 is a module hash filled with b.
func hash32(b byte) []byte {
	h := make([]byte, 32)
	for i := range h {
		h[i] = b
	}
	return h
}

// bigNat parses a decimal string for test values above 2^64.
func bigNat(t *testing.T, s string) *big.Int {
	t.Helper()
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		t.Fatalf("bad number %q", s)
	}
	return n
}

// wantCode checks the registry error code of err.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := registry.ErrorCode(err); got != code {
		t.Fatalf("error code = %q, want %q (err: %v)", got, code, err)
	}
}
