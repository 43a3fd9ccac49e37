package ic

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aviate-labs/agent-go"
	"github.com/aviate-labs/agent-go/certification"
	"github.com/aviate-labs/agent-go/certification/bls"
	"github.com/aviate-labs/agent-go/certification/hashtree"
	"github.com/aviate-labs/agent-go/leb128"
	"github.com/aviate-labs/agent-go/principal"
	bls12381 "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/fxamacker/cbor/v2"

	"canistry/pkg/ic/ictest"
	"canistry/pkg/internal/testclock"
	"canistry/pkg/registry"
)

func testCanister(n uint64) principal.Principal {
	raw := make([]byte, 10)
	for i := range 8 {
		raw[7-i] = byte(n >> (8 * i))
	}
	raw[8], raw[9] = 0x01, 0x01
	return principal.Principal{Raw: raw}
}

func canisterPaths(p principal.Principal) [][]hashtree.Label {
	return [][]hashtree.Label{
		{hashtree.Label("canister"), p.Raw, hashtree.Label("module_hash")},
		{hashtree.Label("canister"), p.Raw, hashtree.Label("controllers")},
	}
}

// fetchCertificate reads paths through ecid's read_state endpoint of the double and returns the
// certificate's CBOR, unverified.
func fetchCertificate(tb testing.TB, c *Client, ecid principal.Principal, paths [][]hashtree.Label) []byte {
	tb.Helper()
	_, body, err := c.envelope(agent.Request{Type: agent.RequestTypeReadState, Sender: c.identity.Sender(), Paths: paths, IngressExpiry: c.expiry()})
	if err != nil {
		tb.Fatal(err)
	}
	raw, err := c.ic.ReadState(tb.Context(), ecid, body)
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := decodeCertificate(raw)
	if err != nil {
		tb.Fatal(err)
	}
	return cert
}

// certTime returns the /time of a certificate.
func certTime(tb testing.TB, raw []byte) time.Time {
	tb.Helper()
	var c rawCertificate
	if err := cbor.Unmarshal(raw, &c); err != nil {
		tb.Fatal(err)
	}
	b, err := c.Tree.Lookup(hashtree.Label("time"))
	if err != nil {
		tb.Fatal(err)
	}
	n, err := leb128.DecodeUnsigned(bytes.NewReader(b))
	if err != nil {
		tb.Fatal(err)
	}
	return time.Unix(0, n.Int64())
}

// testKey is a BLS key pair made by the test, as an attacker could make one.
type testKey struct {
	sk  *bls.SecretKey
	der []byte
}

func newTestKey(tb testing.TB) testKey {
	tb.Helper()
	sk := bls.NewSecretKeyByCSPRNG()
	pk := bls12381.G2Affine(*sk.PublicKey())
	raw := pk.Bytes()
	der, err := certification.PublicBLSKeyToDER(raw[:])
	if err != nil {
		tb.Fatal(err)
	}
	return testKey{sk, der}
}

func lbl(l string, n hashtree.Node) hashtree.Node {
	return hashtree.Labeled{Label: hashtree.Label(l), Tree: n}
}
func fork(l, r hashtree.Node) hashtree.Node { return hashtree.Fork{LeftTree: l, RightTree: r} }
func timeLeaf(t time.Time) hashtree.Node {
	return lbl("time", hashtree.Leaf(leb128.AppendUnsignedUint64(nil, uint64(t.UnixNano()))))
}

// signed returns the CBOR certificate over tree, signed by key, with delegation (nil: none).
func signed(tb testing.TB, tree hashtree.Node, key testKey, delegation []byte) []byte {
	tb.Helper()
	root := tree.Reconstruct()
	sig, err := key.sk.Sign(append(hashtree.DomainSeparator("ic-state-root"), root[:]...))
	if err != nil {
		tb.Fatal(err)
	}
	g1 := bls12381.G1Affine(*sig)
	rawSig := g1.Bytes()
	m := map[string]any{"tree": hashtree.NewHashTree(tree), "signature": rawSig[:]}
	if delegation != nil {
		m["delegation"] = cbor.RawMessage(delegation)
	}
	out, err := cbor.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// allRanges is the CBOR canister ranges [[0x00, 29×0xff]]: every canister.
func allRanges(tb testing.TB) []byte {
	tb.Helper()
	b, err := cbor.Marshal([][][]byte{{{0x00}, bytes.Repeat([]byte{0xff}, 29)}})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// delegationTo returns a delegation {subnet_id, certificate} naming subnet's key for sid with
// ranges (legacy layout), signed by signer, optionally itself delegated.
func delegationTo(tb testing.TB, signer testKey, sid principal.Principal, subnet testKey, ranges []byte, at time.Time, nested []byte) []byte {
	tb.Helper()
	tree := fork(
		lbl("subnet", lbl(string(sid.Raw), fork(lbl("canister_ranges", hashtree.Leaf(ranges)), lbl("public_key", hashtree.Leaf(subnet.der))))),
		timeLeaf(at))
	out, err := cbor.Marshal(map[string][]byte{"subnet_id": sid.Raw, "certificate": signed(tb, tree, signer, nested)})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// canisterTree is a state tree certifying a module hash for ecid at a time.
func canisterTree(ecid principal.Principal, at time.Time) hashtree.Node {
	return fork(lbl("canister", lbl(string(ecid.Raw), lbl("module_hash", hashtree.Leaf(bytes.Repeat([]byte{7}, 32))))), timeLeaf(at))
}

// spliced replaces the delegation of a certificate, keeping its tree and signature.
func spliced(tb testing.TB, raw, delegation []byte) []byte {
	tb.Helper()
	var c rawCertificate
	if err := cbor.Unmarshal(raw, &c); err != nil {
		tb.Fatal(err)
	}
	out, err := cbor.Marshal(map[string]any{"tree": c.Tree, "signature": c.Signature, "delegation": cbor.RawMessage(delegation)})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// delegationOf returns a certificate's delegation bytes and the delegation decoded.
func delegationOf(tb testing.TB, raw []byte) ([]byte, certification.Delegation) {
	tb.Helper()
	var c rawCertificate
	if err := cbor.Unmarshal(raw, &c); err != nil {
		tb.Fatal(err)
	}
	var d certification.Delegation
	if err := cbor.Unmarshal(c.Delegation, &d); err != nil {
		tb.Fatal(err)
	}
	return c.Delegation, d
}

// TestCertVerifier_WarmCacheStillRefuses verifies a genuine certificate from the double (the
// delegation is then cached) and shows that every forgery is still refused, each verified
// afresh, while the genuine certificate keeps verifying from the cache.
func TestCertVerifier_WarmCacheStillRefuses(t *testing.T) {
	inRange, outside := testCanister(5), testCanister(500)
	s, err := ictest.Start(ictest.Options{CanisterRanges: [][2]principal.Principal{{testCanister(0), testCanister(100)}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	s.AddCanister(inRange, bytes.Repeat([]byte{1}, 32))
	s.AddCanister(outside, bytes.Repeat([]byte{2}, 32))
	c, err := New(t.Context(), Config{URL: s.URL(), FetchRootKey: true})
	if err != nil {
		t.Fatal(err)
	}
	genuine := fetchCertificate(t, c, inRange, canisterPaths(inRange))
	at := certTime(t, genuine)
	clk := testclock.New(at)
	v, err := newCertVerifier(s.RootKey(), ingressExpiry, time.Hour, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	mustVerify := func(t *testing.T, wantVerifications int64) {
		t.Helper()
		clk.Set(at)
		if _, err := v.verify(genuine, inRange); err != nil {
			t.Fatalf("genuine certificate: %v", err)
		}
		if got := v.verifications.Load(); got != wantVerifications {
			t.Fatalf("delegation verifications = %d, want %d", got, wantVerifications)
		}
	}
	mustVerify(t, 1)
	mustVerify(t, 1) // warm: the delegation is not verified again

	realDelegation, del := delegationOf(t, genuine)
	attacker := newTestKey(t)
	// the genuine delegation with one byte of its inner certificate's signature changed
	badSig := bytes.Clone(realDelegation)
	if i := bytes.Index(badSig, del.Certificate.Signature); i < 0 {
		t.Fatal("delegation signature not found in its bytes")
	} else {
		badSig[i+len(del.Certificate.Signature)-1] ^= 0x01
	}
	s.Canister(inRange).SetFault(ictest.FaultWrongKey)
	wrongKey := fetchCertificate(t, c, inRange, canisterPaths(inRange))
	s.Canister(inRange).SetFault(ictest.FaultNone)

	for _, tc := range []struct {
		name     string
		cert     []byte
		ecid     principal.Principal
		now      time.Time // zero: the certificate's time
		fresh    bool      // the delegation is verified (again) for this case
		contains string
	}{
		{"SignedByKeyOutsideSubnet", wrongKey, inRange, time.Time{}, false, "signature verification failed"},
		{"CanisterOutsideCertifiedRanges", fetchCertificate(t, c, outside, canisterPaths(outside)), outside, time.Time{}, false, "not in range"},
		{"GenuineCertificateForOtherCanister", genuine, outside, time.Time{}, false, "not in range"},
		{"Expired", genuine, inRange, at.Add(ingressExpiry + time.Second), false, "outdated"},
		{"FromTheFuture", genuine, inRange, at.Add(-ingressExpiry - time.Second), false, "future"},
		{"ForgedDelegationSameSubnetOtherKey",
			signed(t, canisterTree(inRange, at), attacker, delegationTo(t, attacker, del.SubnetId, attacker, allRanges(t), at, nil)),
			inRange, time.Time{}, true, "delegation to subnet"},
		{"GenuineTreeForgedDelegation", spliced(t, genuine, delegationTo(t, attacker, del.SubnetId, attacker, allRanges(t), at, nil)),
			inRange, time.Time{}, true, "delegation to subnet"},
		{"DelegationSignatureByteChanged", spliced(t, genuine, badSig), inRange, time.Time{}, true, "delegation to subnet"},
		{"NestedDelegation",
			signed(t, canisterTree(inRange, at), attacker, delegationTo(t, attacker, del.SubnetId, attacker, allRanges(t), at, realDelegation)),
			inRange, time.Time{}, false, "multiple delegations"},
		{"RootSignedByAttacker", signed(t, canisterTree(inRange, at), attacker, nil), inRange, time.Time{}, false, "signature verification failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for attempt := range 2 { // a refused delegation is never cached: refused again
				before := v.verifications.Load()
				now := tc.now
				if now.IsZero() {
					now = certTime(t, tc.cert)
				}
				clk.Set(now)
				_, err := v.verify(tc.cert, tc.ecid)
				if err == nil || !strings.Contains(err.Error(), tc.contains) {
					t.Fatalf("attempt %d: err = %v, want one containing %q", attempt, err, tc.contains)
				}
				if got := v.verifications.Load() - before; (got == 1) != tc.fresh {
					t.Fatalf("attempt %d: %d delegation verifications, fresh = %v", attempt, got, tc.fresh)
				}
			}
			mustVerify(t, v.verifications.Load()) // the genuine one still verifies, from the cache
		})
	}
	v.mu.Lock()
	n := len(v.delegations)
	v.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d delegations cached, want only the genuine one", n)
	}
}

// TestClient_WarmCachesStillRefuse warms a verifying client's caches (node keys, delegation)
// with good answers, then turns faults on at the double: each answer is refused, over HTTP,
// while the caches hold the genuine entries. A refused delegation is verified afresh (its bytes
// differ from the cached one) and never cached: the genuine one keeps being served from the
// cache.
func TestClient_WarmCachesStillRefuse(t *testing.T) {
	s := ictest.NewServer(t)
	id := testCanister(9)
	s.AddCanister(id, bytes.Repeat([]byte{1}, 32)).Install(ictest.NewMiner(ictest.MinerInfo{}, ictest.CycleUsage{}))
	c, err := New(t.Context(), Config{URL: s.URL(), FetchRootKey: true, VerifyQuerySignatures: true})
	if err != nil {
		t.Fatal(err)
	}
	rid := registry.CanisterID(id.Encode())
	warm := func(t *testing.T) {
		t.Helper()
		s.Canister(id).SetFault(ictest.FaultNone)
		if _, _, err := c.Miner(t.Context(), rid); err != nil {
			t.Fatalf("Miner: %v", err)
		}
		if _, err := c.Canister(t.Context(), rid); err != nil {
			t.Fatalf("Canister: %v", err)
		}
	}
	miner := func(ctx context.Context) error { _, _, err := c.Miner(ctx, rid); return err }
	state := func(ctx context.Context) error { _, err := c.Canister(ctx, rid); return err }
	warm(t)
	for _, tc := range []struct {
		name     string
		fault    ictest.Fault
		call     func(context.Context) error
		contains string
		fresh    int64 // delegation verifications the refused call makes
	}{
		{"QueryReplyFromNodeOutsideSubnet", ictest.FaultUnknownNode, miner, "does not list", 0},
		{"QueryReplyBadNodeSignature", ictest.FaultBadNodeSignature, miner, "invalid", 0},
		{"CertificateSignedOutsideSubnet", ictest.FaultWrongKey, state, "signature verification failed", 0},
		{"CertificateExpired", ictest.FaultStaleCertificate, state, "outdated", 0},
		{"ForgedDelegation", ictest.FaultForgedDelegation, state, "delegation to subnet", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			warm(t)
			before := c.certs.verifications.Load()
			s.Canister(id).SetFault(tc.fault)
			for attempt := range 2 { // refused again: nothing of the refused answer was cached
				err := tc.call(t.Context())
				if err == nil || !strings.Contains(err.Error(), tc.contains) {
					t.Fatalf("attempt %d: err = %v, want one containing %q", attempt, err, tc.contains)
				}
			}
			if got := c.certs.verifications.Load() - before; got != 2*tc.fresh {
				t.Fatalf("%d delegation verifications for two refused calls, want %d", got, 2*tc.fresh)
			}
			before = c.certs.verifications.Load()
			warm(t)
			if got := c.certs.verifications.Load() - before; got != 0 {
				t.Fatalf("genuine delegation verified %d more times; the cache should have served it", got)
			}
		})
	}
}

// TestCertVerifier_ExpiryAndBound: an entry is verified again after its TTL, and the cache
// holds at most maxDelegations entries however many distinct delegations it sees.
func TestCertVerifier_ExpiryAndBound(t *testing.T) {
	root, subnet := newTestKey(t), newTestKey(t)
	at := time.Unix(1_800_000_000, 0)
	clk := testclock.New(at)
	v, err := newCertVerifier(root.der, ingressExpiry, time.Minute, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	ecid := testCanister(1)
	sid := principal.NewSelfAuthenticating(subnet.der)
	cert := func(at time.Time, delegationAt time.Time) []byte {
		return signed(t, canisterTree(ecid, at), subnet, delegationTo(t, root, sid, subnet, allRanges(t), delegationAt, nil))
	}
	first := cert(at, at)
	for _, step := range []struct {
		now  time.Time
		want int64
	}{{at, 1}, {at.Add(59 * time.Second), 1}, {at.Add(time.Minute), 2}, {at.Add(90 * time.Second), 2}} {
		clk.Set(step.now)
		if _, err := v.verify(first, ecid); err != nil {
			t.Fatal(err)
		}
		if got := v.verifications.Load(); got != step.want {
			t.Fatalf("at +%s: %d delegation verifications, want %d", step.now.Sub(at), got, step.want)
		}
	}
	clk.Set(at)
	for i := range maxDelegations + 5 {
		if _, err := v.verify(cert(at, at.Add(-time.Duration(i+1)*time.Second)), ecid); err != nil {
			t.Fatal(err)
		}
	}
	v.mu.Lock()
	n := len(v.delegations)
	v.mu.Unlock()
	if n > maxDelegations {
		t.Fatalf("%d delegations cached, bound is %d", n, maxDelegations)
	}
}

// BenchmarkCertVerify verifies one certificate from the double (module hash and controllers of
// a canister, with the subnet delegation) as agent-go does it and as certVerifier does it with
// its delegation cache warm and cold.
func BenchmarkCertVerify(b *testing.B) {
	s := ictest.NewServer(b)
	id := testCanister(3)
	s.AddCanister(id, bytes.Repeat([]byte{1}, 32))
	c, err := New(b.Context(), Config{URL: s.URL(), FetchRootKey: true})
	if err != nil {
		b.Fatal(err)
	}
	raw := fetchCertificate(b, c, id, canisterPaths(id))
	b.Run("agent-go", func(b *testing.B) {
		for b.Loop() {
			var cert certification.Certificate
			if err := cbor.Unmarshal(raw, &cert); err != nil {
				b.Fatal(err)
			}
			if err := cert.VerifyTime(ingressExpiry); err != nil {
				b.Fatal(err)
			}
			if err := certification.VerifyCertificate(cert, id, s.RootKey()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cold", func(b *testing.B) {
		v, err := newCertVerifier(s.RootKey(), ingressExpiry, 0, time.Now) // TTL 0: every delegation verified
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := v.verify(raw, id); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("warm", func(b *testing.B) {
		v, err := newCertVerifier(s.RootKey(), ingressExpiry, time.Hour, time.Now)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := v.verify(raw, id); err != nil {
				b.Fatal(err)
			}
		}
	})
	// 32 goroutines per core, as the poller's 64 workers: concurrent checks under the subnet key
	// are batched.
	b.Run("warm-concurrent", func(b *testing.B) {
		v, err := newCertVerifier(s.RootKey(), ingressExpiry, time.Hour, time.Now)
		if err != nil {
			b.Fatal(err)
		}
		b.SetParallelism(32)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := v.verify(raw, id); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// TestCheckBatch: a batch of signature checks decides each one as a check on its own would,
// whatever else is in the batch, including signatures swapped between two messages (which
// a batch without random coefficients would accept).
func TestCheckBatch(t *testing.T) {
	key, other := newTestKey(t), newTestKey(t)
	k, err := newBLSKey(key.der, nil)
	if err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, signer testKey, signed, claimed string) *sigCheck {
		t.Helper()
		sig, err := signer.sk.Sign([]byte(signed))
		if err != nil {
			t.Fatal(err)
		}
		h, err := bls12381.HashToG1([]byte(claimed), []byte(blsDST))
		if err != nil {
			t.Fatal(err)
		}
		return &sigCheck{sig: bls12381.G1Affine(*sig), h: h, wake: make(chan struct{}, 1)}
	}
	good := func(t *testing.T, m string) *sigCheck { return check(t, key, m, m) }
	for _, tc := range []struct {
		name  string
		batch func(t *testing.T) []*sigCheck
		want  []bool
	}{
		{"One", func(t *testing.T) []*sigCheck { return []*sigCheck{good(t, "a")} }, []bool{true}},
		{"OneBad", func(t *testing.T) []*sigCheck { return []*sigCheck{check(t, other, "a", "a")} }, []bool{false}},
		{"AllGood", func(t *testing.T) []*sigCheck {
			return []*sigCheck{good(t, "a"), good(t, "b"), good(t, "c"), good(t, "d")}
		}, []bool{true, true, true, true}},
		{"OtherKeyAmongGood", func(t *testing.T) []*sigCheck {
			return []*sigCheck{good(t, "a"), check(t, other, "b", "b"), good(t, "c")}
		}, []bool{true, false, true}},
		{"OtherMessageAmongGood", func(t *testing.T) []*sigCheck {
			return []*sigCheck{good(t, "a"), check(t, key, "b", "x"), good(t, "c")}
		}, []bool{true, false, true}},
		{"SwappedSignatures", func(t *testing.T) []*sigCheck {
			return []*sigCheck{check(t, key, "b", "a"), check(t, key, "a", "b")}
		}, []bool{false, false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			batch := tc.batch(t)
			checkBatch(k.lines, batch)
			for i, c := range batch {
				if !c.done || c.ok != tc.want[i] {
					t.Errorf("check %d: done %v ok %v, want ok %v", i, c.done, c.ok, tc.want[i])
				}
			}
		})
	}
	t.Run("Concurrent", func(t *testing.T) {
		const n = 48
		checks := make([]*sigCheck, n)
		for i := range checks {
			m := string(rune('A' + i))
			if i%5 == 0 {
				checks[i] = check(t, other, m, m)
			} else {
				checks[i] = good(t, m)
			}
		}
		var wg sync.WaitGroup
		for round := range 3 {
			got := make([]bool, n)
			for i := range checks {
				wg.Go(func() {
					c := *checks[i]
					c.done, c.ok, c.wake = false, false, make(chan struct{}, 1)
					got[i] = k.check(&c)
				})
			}
			wg.Wait()
			for i, ok := range got {
				if ok != (i%5 != 0) {
					t.Fatalf("round %d, check %d: ok = %v", round, i, ok)
				}
			}
		}
	})
}
