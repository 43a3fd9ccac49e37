package ic_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aviate-labs/agent-go/candid/idl"
	"github.com/aviate-labs/agent-go/principal"

	"canistry/pkg/ic"
	"canistry/pkg/ic/ictest"
	"canistry/pkg/internal/testclock"
	"canistry/pkg/registry"
)

// ledger installs a canister answering icrc1_balance_of with n.
func ledger(s *ictest.Server, n uint64) *ictest.Canister {
	c := s.AddCanister(canisterID(n), hash32(byte(n)))
	c.Reply("icrc1_balance_of", idl.NewNat(n))
	return c
}

// balance makes exactly one query: icrc1_balance_of on the ledger.
func balance(t *testing.T, c *ic.Client, ledger principal.Principal) (string, error) {
	t.Helper()
	b, err := c.Wallet(t.Context(), regID(canisterID(999_999)), []registry.CanisterID{regID(ledger)})
	if err != nil {
		return "", err
	}
	return b[0].Amount, nil
}

// subnetReads is how many ["subnet"] read_states (node-key fetches) s has served.
func subnetReads(s *ictest.Server) int64 { return s.Requests(ictest.RequestSubnetState) }

func wantSubnetReads(t *testing.T, s *ictest.Server, want int64) {
	t.Helper()
	if got := subnetReads(s); got != want {
		t.Fatalf("node-key read_states = %d, want %d", got, want)
	}
}

func wantRefused(t *testing.T, err error, contains string) {
	t.Helper()
	wantCode(t, err, registry.EUNAVAILABLE)
	if !strings.Contains(err.Error(), contains) {
		t.Fatalf("error %q does not contain %q", err, contains)
	}
}

func TestClient_NodeKeyCache(t *testing.T) {
	t.Run("OneReadForManyCanisters", func(t *testing.T) {
		c, s := newClient(t)
		for n := range uint64(5) {
			l := ledger(s, 100+n)
			if got, err := balance(t, c, l.ID()); err != nil || got != idl.NewNat(100+n).BigInt().String() {
				t.Fatalf("balance = %q, %v", got, err)
			}
		}
		wantSubnetReads(t, s, 1)
		if got := s.Requests(ictest.RequestQuery); got != 5 {
			t.Errorf("queries = %d, want 5", got)
		}
	})
	t.Run("ConcurrentMissesOneRead", func(t *testing.T) {
		c, s := newClient(t)
		s.SetLatency(time.Millisecond) // keep the first fetch in flight while the others miss
		const n = 64
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range uint64(n) {
			s.AddCanister(canisterID(200+i), hash32(1)).Install(ictest.NewMiner(ictest.MinerInfo{}, ictest.CycleUsage{}))
			wg.Go(func() {
				_, _, err := c.Miner(t.Context(), regID(canisterID(200+i)))
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		wantSubnetReads(t, s, 1)
	})
	t.Run("ExpiryRefetches", func(t *testing.T) {
		s := ictest.NewServer(t)
		clk := testclock.New(time.Unix(1_800_000_000, 0))
		c, err := ic.NewWithNodeKeyClock(t.Context(), ic.Config{URL: s.URL(), FetchRootKey: true,
			VerifyQuerySignatures: true, NodeKeyTTL: time.Minute}, clk.Now)
		if err != nil {
			t.Fatal(err)
		}
		l := ledger(s, 300).ID()
		for _, step := range []struct {
			advance time.Duration
			reads   int64
		}{{0, 1}, {59 * time.Second, 1}, {time.Second, 2}, {30 * time.Second, 2}, {31 * time.Second, 3}} {
			clk.Advance(step.advance)
			if _, err := balance(t, c, l); err != nil {
				t.Fatal(err)
			}
			wantSubnetReads(t, s, step.reads)
		}
	})
	t.Run("RootSubnetKeysPerCanister", func(t *testing.T) {
		// A root-signed certificate (no delegation) certifies no canister ranges: its keys
		// serve only the canister they were read through, as agent-go trusts them.
		s, err := ictest.Start(ictest.Options{RootSubnet: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		c := newBenchClient(t, s)
		a, b := ledger(s, 100).ID(), ledger(s, 101).ID()
		for _, id := range []principal.Principal{a, b, a, b} {
			if _, err := balance(t, c, id); err != nil {
				t.Fatal(err)
			}
		}
		wantSubnetReads(t, s, 2)
	})
	t.Run("VerificationOffReadsNoKeys", func(t *testing.T) {
		s := ictest.NewServer(t)
		c, err := ic.New(t.Context(), ic.Config{URL: s.URL(), FetchRootKey: true})
		if err != nil {
			t.Fatal(err)
		}
		l := ledger(s, 400)
		l.SetFault(ictest.FaultBadNodeSignature) // not checked at all
		if _, err := balance(t, c, l.ID()); err != nil {
			t.Fatal(err)
		}
		wantSubnetReads(t, s, 0)
	})
	t.Run("AgentGoVerificationReadsPerQuery", func(t *testing.T) {
		s := ictest.NewServer(t)
		c, err := ic.NewWithAgentGoVerification(t.Context(), ic.Config{URL: s.URL(), FetchRootKey: true, VerifyQuerySignatures: true})
		if err != nil {
			t.Fatal(err)
		}
		l := ledger(s, 500).ID()
		for range 3 {
			if _, err := balance(t, c, l); err != nil {
				t.Fatal(err)
			}
		}
		wantSubnetReads(t, s, 3)
	})
}

func TestClient_QuerySignatures(t *testing.T) {
	t.Run("ErrBadNodeSignature", func(t *testing.T) {
		c, s := newClient(t)
		l := ledger(s, 100)
		l.SetFault(ictest.FaultBadNodeSignature)
		_, err := balance(t, c, l.ID())
		wantRefused(t, err, "invalid replied signature")
		l.Remove("icrc1_balance_of") // a reject is signed too
		_, err = balance(t, c, l.ID())
		wantRefused(t, err, "invalid rejected signature")
	})
	t.Run("ErrNoSignature", func(t *testing.T) {
		c, s := newClient(t)
		l := ledger(s, 100)
		l.SetFault(ictest.FaultNoSignature)
		_, err := balance(t, c, l.ID())
		wantRefused(t, err, "no signatures")
	})
	t.Run("ErrNodeNotInSubnet", func(t *testing.T) {
		c, s := newClient(t)
		good, bad := ledger(s, 100), ledger(s, 101)
		if _, err := balance(t, c, good.ID()); err != nil {
			t.Fatal(err)
		}
		wantSubnetReads(t, s, 1)
		bad.SetFault(ictest.FaultUnknownNode)
		_, err := balance(t, c, bad.ID())
		wantRefused(t, err, "does not list")
		wantSubnetReads(t, s, 2) // refetched once, then refused
		if _, err := balance(t, c, good.ID()); err != nil {
			t.Fatal(err)
		}
		wantSubnetReads(t, s, 2) // the refetched keys are cached
	})
	t.Run("ErrWrongKeyForNodeKeys", func(t *testing.T) {
		c, s := newClient(t)
		l := ledger(s, 100)
		l.SetFault(ictest.FaultWrongKey) // the ["subnet"] certificate is not signed by the subnet
		_, err := balance(t, c, l.ID())
		wantRefused(t, err, "signature verification failed")
		l.SetFault(ictest.FaultNone)
		if _, err := balance(t, c, l.ID()); err != nil {
			t.Fatal(err)
		}
		wantSubnetReads(t, s, 2) // nothing was cached from the refused certificate
	})
	t.Run("ErrCanisterOutsideDelegatedRanges", func(t *testing.T) {
		in, out := canisterID(100), canisterID(101)
		s, err := ictest.Start(ictest.Options{CanisterRanges: [][2]principal.Principal{{in, in}}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		c := newBenchClient(t, s)
		ledger(s, 100)
		ledger(s, 101)
		if _, err := balance(t, c, in); err != nil {
			t.Fatal(err)
		}
		// The cached subnet is not certified to host out: its keys are not used for it, and
		// the certificate read through out fails agent-go's range check.
		_, err = balance(t, c, out)
		wantRefused(t, err, "not in range")
		wantSubnetReads(t, s, 2)
	})
}
