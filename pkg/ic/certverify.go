package ic

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aviate-labs/agent-go/certification"
	"github.com/aviate-labs/agent-go/certification/hashtree"
	"github.com/aviate-labs/agent-go/leb128"
	"github.com/aviate-labs/agent-go/principal"
	"github.com/consensys/gnark-crypto/ecc"
	bls12381 "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
	"github.com/fxamacker/cbor/v2"
)

// DefaultDelegationTTL is how long a verified subnet delegation is reused before it is
// verified again.
const DefaultDelegationTTL = 5 * time.Minute

// maxDelegations bounds the delegation cache. Mainnet has a few dozen subnets and the IC
// renews each delegation now and then, so a poller sees a handful of distinct ones at a time.
const maxDelegations = 64

// blsDST is the hash-to-curve domain of IC state signatures (BLS12-381, signatures in G1), as
// agent-go's bls package uses it.
const blsDST = "BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_"

// g2Lines are the precomputed Miller-loop lines of a fixed G2 point (a public key).
type g2Lines = [2][len(bls12381.LoopCounter) - 1]bls12381.LineEvaluationAff

// negG2Lines are the lines of -g2, the other fixed point of every signature check
// e(sig, -g2)·e(H(m), pk) = 1.
var negG2Lines = func() g2Lines {
	_, _, _, g2 := bls12381.Generators()
	var neg bls12381.G2Affine
	neg.Neg(&g2)
	return bls12381.PrecomputeLines(neg)
}()

// maxBatch bounds how many signatures one batch check takes: if one of them is bad, each is
// checked on its own.
const maxBatch = 64

// batchLinger is the longest a caller starting a batch waits for others to join it: while
// checks under the key come concurrently (the previous batch, ended less than busyGap ago, held
// more than one), or while other callers are still decoding and hashing theirs. At a poller's
// few hundred read_states a second, batches then hold several signatures instead of one or
// two. A lone caller, even one checking certificates back to back, never waits.
const (
	batchLinger = 4 * time.Millisecond
	lingerStep  = 250 * time.Microsecond
	busyGap     = 20 * time.Millisecond
)

// blsKey is a parsed, subgroup-checked BLS public key with its precomputed lines. Signatures
// checked under it at the same time are checked together (see check).
type blsKey struct {
	lines g2Lines

	inflight atomic.Int64 // callers of verify whose check is not decided yet

	mu       sync.Mutex
	running  bool        // a caller is checking a batch
	pending  []*sigCheck // waiting for the next batch
	lastDone time.Time   // when the last batch was decided
	lastSize int         // how many checks it held
}

// sigCheck is one signature waiting for a batch: e(sig, -g2)·e(h, pk) = 1 is to be checked.
type sigCheck struct {
	sig, h bls12381.G1Affine
	ok     bool
	done   bool          // ok is decided
	wake   chan struct{} // one send: ok is decided, or this caller is to check the next batch
}

func newBLSKey(der []byte) (*blsKey, error) {
	pk, err := certification.PublicBLSKeyFromDER(der) // parses and checks the point is in G2
	if err != nil {
		return nil, fmt.Errorf("BLS public key: %w", err)
	}
	return &blsKey{lines: bls12381.PrecomputeLines(bls12381.G2Affine(*pk))}, nil
}

// verify checks a certificate's BLS signature over \x0Dic-state-root ‖ digest(tree), exactly
// as agent-go's certification package does (same domain, hash-to-curve, and pairing equation),
// with the key's lines precomputed.
func (k *blsKey) verify(tree hashtree.HashTree, sig []byte) error {
	k.inflight.Add(1)
	root := tree.Digest()
	msg := append(hashtree.DomainSeparator("ic-state-root"), root[:]...)
	var s bls12381.G1Affine
	if _, err := s.SetBytes(sig); err != nil { // decompresses and checks the point is in G1
		k.inflight.Add(-1)
		return fmt.Errorf("signature verification failed: %w", err)
	}
	h, err := bls12381.HashToG1(msg, []byte(blsDST))
	if err != nil {
		k.inflight.Add(-1)
		return fmt.Errorf("signature verification failed: %w", err)
	}
	if !k.check(&sigCheck{sig: s, h: h, wake: make(chan struct{}, 1)}) {
		return errors.New("signature verification failed")
	}
	return nil
}

// check decides c. Concurrent checks under one key are batched (group commit): the first
// caller checks the batch of everything pending, meanwhile later callers queue; when it is
// done it hands the next batch to the first of them and returns. A batch of n signatures costs
// one pairing check instead of n (see checkBatch).
func (k *blsKey) check(c *sigCheck) bool {
	k.mu.Lock()
	k.pending = append(k.pending, c)
	lead := !k.running
	k.running = true
	k.mu.Unlock()
	if !lead {
		<-c.wake
		if c.done {
			return c.ok
		}
	}
	k.mu.Lock()
	busy := k.lastSize > 1 && time.Since(k.lastDone) < busyGap
	for deadline := time.Now().Add(batchLinger); len(k.pending) < maxBatch &&
		(busy || k.inflight.Load() > int64(len(k.pending))) && time.Now().Before(deadline); {
		k.mu.Unlock()
		time.Sleep(lingerStep)
		k.mu.Lock()
	}
	n := min(len(k.pending), maxBatch)
	batch := k.pending[:n:n]
	k.pending = k.pending[n:]
	k.mu.Unlock()
	checkBatch(k.lines, batch)
	k.inflight.Add(-int64(n))
	for _, b := range batch {
		if b != c {
			b.wake <- struct{}{}
		}
	}
	k.mu.Lock()
	k.lastDone, k.lastSize = time.Now(), n
	if len(k.pending) > 0 {
		next := k.pending[0]
		k.mu.Unlock()
		next.wake <- struct{}{} // not done: it checks the next batch
	} else {
		k.running = false
		k.mu.Unlock()
	}
	return c.ok
}

// checkBatch decides every check of batch. One check is e(sig, -g2)·e(h, pk) = 1. Several are
// checked at once by random linear combination (small-exponent batch verification): with
// random scalars r_i, e(Σ r_i·sig_i, -g2)·e(Σ r_i·h_i, pk) = 1 holds for all valid signatures
// and, when any is invalid, only with probability about 2^-255 (every point is in the
// prime-order subgroup: signatures are subgroup-checked when decoded, hashes are on it by
// construction). If the batch fails, each signature is checked on its own, so a bad signature
// fails only itself.
func checkBatch(lines g2Lines, batch []*sigCheck) {
	single := func(c *sigCheck) {
		ok, err := bls12381.PairingCheckFixedQ([]bls12381.G1Affine{c.sig, c.h}, []g2Lines{negG2Lines, lines})
		c.ok, c.done = err == nil && ok, true
	}
	if len(batch) == 1 {
		single(batch[0])
		return
	}
	sigs, hs := make([]bls12381.G1Affine, len(batch)), make([]bls12381.G1Affine, len(batch))
	rs := make([]fr.Element, len(batch))
	for i, c := range batch {
		sigs[i], hs[i] = c.sig, c.h
		if _, err := rs[i].SetRandom(); err != nil || rs[i].IsZero() {
			for _, c := range batch {
				single(c)
			}
			return
		}
	}
	var sum, hsum bls12381.G1Affine
	cfg := ecc.MultiExpConfig{NbTasks: 1}
	_, err1 := sum.MultiExp(sigs, rs, cfg)
	_, err2 := hsum.MultiExp(hs, rs, cfg)
	if err1 == nil && err2 == nil {
		if ok, err := bls12381.PairingCheckFixedQ([]bls12381.G1Affine{sum, hsum}, []g2Lines{negG2Lines, lines}); err == nil && ok {
			for _, c := range batch {
				c.ok, c.done = true, true
			}
			return
		}
	}
	for _, c := range batch {
		single(c)
	}
}

// subnetDelegation is a verified delegation: the root key signed a certificate naming the
// subnet's key and canister ranges. Entries are immutable once cached.
type subnetDelegation struct {
	id      principal.Principal
	ranges  certification.CanisterRanges
	key     *blsKey
	expires time.Time
}

// certVerifier checks read_state certificates as agent-go does (certification.VerifyCertificate
// and Certificate.VerifyTime), but verifies each distinct delegation once: a verified delegation
// is kept, keyed by its exact CBOR bytes, until it expires (ttl after it was verified) or is
// evicted. The certificate's own signature, its freshness and the canister's range are checked
// every time. A delegation that fails verification is never cached, and different bytes (another
// key, another signature, other ranges under the same subnet id) are verified afresh.
type certVerifier struct {
	root   *blsKey
	maxAge time.Duration // how old (or how far ahead) a certificate's /time may be
	ttl    time.Duration
	now    func() time.Time

	verifications atomic.Int64 // delegation signature checks made (tests)

	mu          sync.Mutex
	delegations map[string]*subnetDelegation // by the delegation's CBOR bytes
}

func newCertVerifier(rootDER []byte, maxAge, ttl time.Duration, now func() time.Time) (*certVerifier, error) {
	root, err := newBLSKey(rootDER)
	if err != nil {
		return nil, fmt.Errorf("root key: %w", err)
	}
	return &certVerifier{root: root, maxAge: maxAge, ttl: ttl, now: now, delegations: make(map[string]*subnetDelegation)}, nil
}

// rawCertificate is a certificate whose delegation is kept as the bytes it arrived in.
type rawCertificate struct {
	Tree       hashtree.HashTree `cbor:"tree"`
	Signature  []byte            `cbor:"signature"`
	Delegation cbor.RawMessage   `cbor:"delegation"`
}

// verifiedCertificate is a certificate that passed certVerifier.verify.
type verifiedCertificate struct {
	tree hashtree.HashTree
	// delegation is the subnet the root delegated to; nil for a certificate the root key signed.
	delegation *subnetDelegation
}

// verify decodes a certificate (the CBOR of a read_state reply's certificate field) and checks
// it for the effective canister ecid: freshness of /time, the delegation (root signature, no
// nested delegation, ecid in the subnet's canister ranges, the subnet's key), and the
// certificate's signature under the subnet key, or the root key without delegation.
func (v *certVerifier) verify(raw []byte, ecid principal.Principal) (_ *verifiedCertificate, err error) {
	defer func() { // agent-go's hash-tree decoder indexes CBOR without checking lengths
		if p := recover(); p != nil {
			err = fmt.Errorf("malformed certificate: %v", p)
		}
	}()
	var cert rawCertificate
	if err := cbor.Unmarshal(raw, &cert); err != nil {
		return nil, fmt.Errorf("decode certificate: %w", err)
	}
	if cert.Tree.Root == nil {
		return nil, errors.New("decode certificate: no tree")
	}
	if err := v.checkTime(cert.Tree); err != nil {
		return nil, err
	}
	key, out := v.root, &verifiedCertificate{tree: cert.Tree}
	if len(cert.Delegation) > 0 && !bytes.Equal(cert.Delegation, []byte{0xf6}) { // absent or null: root-signed
		d, err := v.delegation(cert.Delegation)
		if err != nil {
			return nil, err
		}
		if !d.ranges.InRange(ecid) {
			return nil, fmt.Errorf("canister %s is not in range", ecid)
		}
		key, out.delegation = d.key, d
	}
	if err := key.verify(cert.Tree, cert.Signature); err != nil {
		return nil, err
	}
	return out, nil
}

// checkTime refuses a certificate whose /time is more than maxAge old (agent-go's VerifyTime)
// or more than maxAge ahead of the clock.
func (v *certVerifier) checkTime(tree hashtree.HashTree) error {
	rawTime, err := tree.Lookup(hashtree.Label("time"))
	if err != nil {
		return fmt.Errorf("certificate time: %w", err)
	}
	t, err := leb128.DecodeUnsigned(bytes.NewReader(rawTime))
	if err != nil || !t.IsInt64() {
		return fmt.Errorf("certificate time %x is not a valid timestamp", rawTime)
	}
	age := v.now().Sub(time.Unix(0, t.Int64()))
	switch {
	case age > v.maxAge:
		return fmt.Errorf("certificate outdated, exceeds ingress expiry (%s old)", age.Round(time.Second))
	case age < -v.maxAge:
		return fmt.Errorf("certificate time is %s in the future", (-age).Round(time.Second))
	}
	return nil
}

// delegation returns the verified delegation encoded by raw, from the cache or verified now.
func (v *certVerifier) delegation(raw []byte) (*subnetDelegation, error) {
	now := v.now()
	v.mu.Lock()
	d, ok := v.delegations[string(raw)]
	v.mu.Unlock()
	if ok && now.Before(d.expires) {
		return d, nil
	}
	d, err := v.verifyDelegation(raw)
	if err != nil {
		return nil, err
	}
	d.expires = now.Add(v.ttl)
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.delegations) >= maxDelegations {
		v.evict(now)
	}
	v.delegations[string(raw)] = d
	return d, nil
}

// evict drops expired entries, or if none has expired the one expiring first. v.mu is held.
func (v *certVerifier) evict(now time.Time) {
	var first string
	for k, d := range v.delegations {
		if !now.Before(d.expires) {
			delete(v.delegations, k)
			continue
		}
		if first == "" || d.expires.Before(v.delegations[first].expires) {
			first = k
		}
	}
	if len(v.delegations) >= maxDelegations {
		delete(v.delegations, first)
	}
}

// verifyDelegation checks a delegation as agent-go's verifyDelegationCertificate does, except
// the canister range, which verify checks for every certificate: the delegation's certificate
// carries no delegation itself and is signed by the root key, and it certifies the subnet's
// canister ranges and public key.
func (v *certVerifier) verifyDelegation(raw []byte) (*subnetDelegation, error) {
	var del certification.Delegation
	if err := cbor.Unmarshal(raw, &del); err != nil {
		return nil, fmt.Errorf("decode delegation: %w", err)
	}
	if del.Certificate.Tree.Root == nil {
		return nil, errors.New("decode delegation: no certificate tree")
	}
	if del.Certificate.Delegation != nil {
		return nil, errors.New("multiple delegations are not supported")
	}
	v.verifications.Add(1)
	if err := v.root.verify(del.Certificate.Tree, del.Certificate.Signature); err != nil {
		return nil, fmt.Errorf("delegation to subnet %s: %w", del.SubnetId, err)
	}
	ranges, err := certification.LookupCanisterRanges(del.Certificate.Tree, del.SubnetId)
	if err != nil {
		return nil, fmt.Errorf("canister ranges of subnet %s: %w", del.SubnetId, err)
	}
	der, err := del.Certificate.Tree.Lookup(hashtree.Label("subnet"), del.SubnetId.Raw, hashtree.Label("public_key"))
	if err != nil {
		return nil, fmt.Errorf("public key of subnet %s: %w", del.SubnetId, err)
	}
	key, err := newBLSKey(der)
	if err != nil {
		return nil, fmt.Errorf("subnet %s: %w", del.SubnetId, err)
	}
	return &subnetDelegation{id: del.SubnetId, ranges: ranges, key: key}, nil
}
