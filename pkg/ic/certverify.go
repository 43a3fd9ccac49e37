package ic

// Certificate verification of read_state replies: the certificate, its freshness, and its
// subnet delegation, verified once per distinct delegation and cached (the BLS checks are in
// blskey.go).

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
	"github.com/fxamacker/cbor/v2"
)

// DefaultDelegationTTL is how long a verified subnet delegation is reused before it is
// verified again.
const DefaultDelegationTTL = 5 * time.Minute

// maxDelegations bounds the delegation cache. Mainnet has a few dozen subnets and the IC
// renews each delegation now and then, so a poller sees a handful of distinct ones at a time.
const maxDelegations = 64

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
	// reading counts the read_states in flight whose certificates this verifier will check
	// (Client.readState): batch checks wait for them (see batchLinger).
	reading atomic.Int64

	mu          sync.Mutex
	delegations map[string]*subnetDelegation // by the delegation's CBOR bytes
}

func newCertVerifier(rootDER []byte, maxAge, ttl time.Duration, now func() time.Time) (*certVerifier, error) {
	v := &certVerifier{maxAge: maxAge, ttl: ttl, now: now, delegations: make(map[string]*subnetDelegation)}
	var err error
	if v.root, err = newBLSKey(rootDER, &v.reading); err != nil {
		return nil, fmt.Errorf("root key: %w", err)
	}
	return v, nil
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
	key, err := newBLSKey(der, &v.reading)
	if err != nil {
		return nil, fmt.Errorf("subnet %s: %w", del.SubnetId, err)
	}
	return &subnetDelegation{id: del.SubnetId, ranges: ranges, key: key}, nil
}
