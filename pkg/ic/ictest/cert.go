package ictest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/aviate-labs/agent-go/certification"
	"github.com/aviate-labs/agent-go/certification/bls"
	"github.com/aviate-labs/agent-go/certification/hashtree"
	"github.com/aviate-labs/agent-go/leb128"
	"github.com/aviate-labs/agent-go/principal"
	bls12381 "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/fxamacker/cbor/v2"
)

// selfDescribed is the CBOR tag 55799 prefix the IC puts in front of its replies and of some
// certified values (controllers, canister ranges).
var selfDescribed = []byte{0xd9, 0xd9, 0xf7}

// nodeCount is how many nodes the simulated subnet has; replies are signed by one of them.
const nodeCount = 4

// staleAge is how old FaultStaleCertificate makes a certificate's /time.
const staleAge = 10 * time.Minute

// certifiedTime is the /time a certificate made now certifies under fault.
func certifiedTime(now time.Time, fault Fault) time.Time {
	if fault == FaultStaleCertificate {
		return now.Add(-staleAge)
	}
	return now
}

// certWindow is the granularity of the certified /time. Certificates built within one window
// over the same state are byte-identical, so they are signed once and served from a cache.
const certWindow = time.Second

// node is a replica of the simulated subnet: its id and Ed25519 key.
type node struct {
	id  principal.Principal
	key ed25519.PrivateKey
	der []byte // SPKI DER of the public key, as stored in the state tree
}

// subnet holds the key material of the simulated IC: a root key (NNS), one application subnet
// whose certificates carry a delegation signed by the root key, the subnet's nodes, and a
// stranger key used to sign certificates on purpose wrongly.
type subnet struct {
	rootKey  *bls.SecretKey
	rootDER  []byte
	key      *bls.SecretKey
	keyDER   []byte
	wrongKey *bls.SecretKey
	id       principal.Principal
	nodes    []node
	stranger node   // a node of no subnet, for FaultUnknownNode
	ranges   []byte // self-described CBOR of the canister ranges, as certified
	// delegations are the CBOR {subnet_id, certificate} the root signed for this subnet, by
	// layout of the canister ranges in them; nil for the root subnet.
	delegations [layouts][]byte
	// forged are the same delegations signed by wrongKey instead (FaultForgedDelegation).
	forged [layouts][]byte

	mu    sync.Mutex
	cache map[certKey][]byte // certificate CBOR by tree root, signing key and layout
	epoch int64              // certWindow the cache belongs to
}

// layout is where a certificate's delegation certifies the subnet's canister ranges. The IC
// moved them from one leaf per subnet to a sharded subtree and certifies each layout on its
// own API versions (agent-go's certification/certificate.go and agent-js's certificate.js
// document the split): a client is answered in the layout its endpoint promises.
type layout int

const (
	// layoutLegacy is /subnet/<subnet_id>/canister_ranges: /api/v2 read_state (and /api/v3
	// call).
	layoutLegacy layout = iota
	// layoutSharded is /canister_ranges/<subnet_id>/<shard>: /api/v3 read_state (and /api/v4
	// call).
	layoutSharded
	layouts
)

type certKey struct {
	root   [32]byte
	fault  Fault // FaultWrongKey and FaultForgedDelegation change the signature or delegation
	layout layout
}

// allPrincipals is the default delegated canister range: every principal from 0x00 to 29
// bytes of 0xff, so any canister id a test invents is "on" this subnet.
func allPrincipals() [][2]principal.Principal {
	return [][2]principal.Principal{{{Raw: []byte{0x00}}, {Raw: bytes.Repeat([]byte{0xff}, 29)}}}
}

// newSubnet makes the keys of the simulated IC. With root set the subnet is the root subnet
// itself: certificates are signed by the root key, carry no delegation, and the subnet id is
// mainnet's root subnet id, as agent-go assumes for such certificates.
func newSubnet(now time.Time, ranges [][2]principal.Principal, root bool) (*subnet, error) {
	s := &subnet{cache: make(map[certKey][]byte)}
	var err error
	if s.rootKey, s.rootDER, err = newBLSKey(); err != nil {
		return nil, fmt.Errorf("root key: %w", err)
	}
	if s.key, s.keyDER, err = newBLSKey(); err != nil {
		return nil, fmt.Errorf("subnet key: %w", err)
	}
	if s.wrongKey, _, err = newBLSKey(); err != nil {
		return nil, fmt.Errorf("wrong key: %w", err)
	}
	s.id = principal.NewSelfAuthenticating(s.keyDER)
	if root {
		s.key, s.keyDER = s.rootKey, s.rootDER
		if s.id, err = principal.Decode(certification.RootSubnetID); err != nil {
			return nil, fmt.Errorf("root subnet id: %w", err)
		}
	}
	for range nodeCount + 1 {
		n, err := newNode()
		if err != nil {
			return nil, err
		}
		s.nodes = append(s.nodes, n)
	}
	s.stranger, s.nodes = s.nodes[nodeCount], s.nodes[:nodeCount]
	slices.SortFunc(s.nodes, func(a, b node) int { return bytes.Compare(a.id.Raw, b.id.Raw) })
	if len(ranges) == 0 || root {
		ranges = allPrincipals()
	}
	if s.ranges, err = encodeRanges(ranges); err != nil {
		return nil, err
	}
	for l := range layouts {
		if s.forged[l], err = s.delegate(now, ranges[0][0], l, s.wrongKey); err != nil {
			return nil, fmt.Errorf("forged delegation: %w", err)
		}
		if root {
			continue
		}
		if s.delegations[l], err = s.delegate(now, ranges[0][0], l, s.rootKey); err != nil {
			return nil, fmt.Errorf("delegation: %w", err)
		}
	}
	return s, nil
}

// encodeRanges is the certified form of canister ranges: a self-described CBOR array of
// [from, to] principal byte pairs.
func encodeRanges(ranges [][2]principal.Principal) ([]byte, error) {
	raw := make([][][]byte, len(ranges))
	for i, r := range ranges {
		raw[i] = [][]byte{r[0].Raw, r[1].Raw}
	}
	enc, err := cbor.Marshal(raw)
	if err != nil {
		return nil, fmt.Errorf("canister ranges: %w", err)
	}
	return append(slices.Clone(selfDescribed), enc...), nil
}

// delegate returns the delegation in layout l, signed with signer (the root key, or for a
// forgery another one): the root subnet certifies this subnet's key and canister ranges,
// either as the legacy leaf or as one shard labelled with the first canister id of the ranges.
func (s *subnet) delegate(now time.Time, first principal.Principal, l layout, signer *bls.SecretKey) ([]byte, error) {
	sid := string(s.id.Raw)
	inner := newTree()
	inner.put(leb(uint64(now.UnixNano())), "time")
	inner.put(s.keyDER, "subnet", sid, "public_key")
	if l == layoutSharded {
		inner.put(s.ranges, "canister_ranges", sid, string(first.Raw))
	} else {
		inner.put(s.ranges, "subnet", sid, "canister_ranges")
	}
	innerCert, err := signCertificate(inner.hashTree(), signer, nil)
	if err != nil {
		return nil, err
	}
	return cbor.Marshal(map[string][]byte{"subnet_id": s.id.Raw, "certificate": innerCert})
}

func newNode() (node, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return node{}, fmt.Errorf("node key: %w", err)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return node{}, fmt.Errorf("node key: %w", err)
	}
	return node{id: principal.NewSelfAuthenticating(der), key: priv, der: der}, nil
}

func newBLSKey() (*bls.SecretKey, []byte, error) {
	sk := bls.NewSecretKeyByCSPRNG()
	if sk == nil {
		return nil, nil, fmt.Errorf("no randomness")
	}
	pk := bls12381.G2Affine(*sk.PublicKey())
	raw := pk.Bytes()
	der, err := certification.PublicBLSKeyToDER(raw[:])
	return sk, der, err
}

// addSubnetState puts what a ["subnet"] read_state of this subnet reveals: its public key,
// its canister ranges (/subnet/<id>/canister_ranges, the leaf every subnet's state tree
// carries; agent-js 3.x checks the canister against it before trusting the node keys) and
// each node's Ed25519 key.
func (s *subnet) addSubnetState(t *tree) {
	sid := string(s.id.Raw)
	t.put(s.keyDER, "subnet", sid, "public_key")
	t.put(s.ranges, "subnet", sid, "canister_ranges")
	for _, n := range s.nodes {
		t.put(n.der, "subnet", sid, "node", string(n.id.Raw), "public_key")
	}
}

// certificate returns the CBOR certificate over t, signed with the subnet key and carrying
// the delegation in layout l; under FaultWrongKey signed with the stranger key instead, under
// FaultForgedDelegation carrying the forged delegation. Identical trees within one certWindow
// are signed once.
func (s *subnet) certificate(t hashtree.Node, fault Fault, l layout, now time.Time) ([]byte, error) {
	if fault != FaultWrongKey && fault != FaultForgedDelegation {
		fault = FaultNone
	}
	k := certKey{root: t.Reconstruct(), fault: fault, layout: l}
	epoch := now.UnixNano() / int64(certWindow)
	s.mu.Lock()
	if s.epoch != epoch {
		s.epoch, s.cache = epoch, make(map[certKey][]byte)
	}
	c, ok := s.cache[k]
	s.mu.Unlock()
	if ok {
		return c, nil
	}
	key, delegation := s.key, s.delegations[l]
	switch fault {
	case FaultWrongKey:
		key = s.wrongKey
	case FaultForgedDelegation:
		delegation = s.forged[l]
	}
	c, err := signCertificate(t, key, delegation)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.epoch == epoch {
		s.cache[k] = c
	}
	s.mu.Unlock()
	return c, nil
}

// signCertificate signs \x0Dic-state-root‖root with key and encodes {tree, signature,
// delegation?}.
func signCertificate(t hashtree.Node, key *bls.SecretKey, delegation []byte) ([]byte, error) {
	root := t.Reconstruct()
	sig, err := key.Sign(append(hashtree.DomainSeparator("ic-state-root"), root[:]...))
	if err != nil {
		return nil, fmt.Errorf("sign certificate: %w", err)
	}
	g1 := bls12381.G1Affine(*sig)
	raw := g1.Bytes()
	m := map[string]any{"tree": hashtree.NewHashTree(t), "signature": raw[:]}
	if delegation != nil {
		m["delegation"] = cbor.RawMessage(delegation)
	}
	return cbor.Marshal(m)
}

// certTime is now rounded down to the certificate window, as a ULEB128 leaf.
func certTime(now time.Time) []byte {
	return leb(uint64(now.Truncate(certWindow).UnixNano()))
}

func leb(v uint64) []byte { return leb128.AppendUnsignedUint64(nil, v) }

// tree is a mutable labelled tree from which a sorted hashtree is built.
type tree struct {
	leaf     []byte
	isLeaf   bool
	children map[string]*tree
}

func newTree() *tree { return &tree{children: map[string]*tree{}} }

// put stores value at path, creating the intermediate nodes.
func (t *tree) put(value []byte, path ...string) {
	n := t
	for _, l := range path {
		c, ok := n.children[l]
		if !ok {
			c = newTree()
			n.children[l] = c
		}
		n = c
	}
	n.leaf, n.isLeaf = value, true
}

// hashTree builds the hashtree: labels in ascending byte order, as a balanced fork of labelled
// subtrees (agent-go's lookup relies on the order).
func (t *tree) hashTree() hashtree.Node {
	if t.isLeaf {
		return hashtree.Leaf(t.leaf)
	}
	labels := make([]string, 0, len(t.children))
	for l := range t.children {
		labels = append(labels, l)
	}
	slices.Sort(labels) // Go string order is byte order
	nodes := make([]hashtree.Node, len(labels))
	for i, l := range labels {
		nodes[i] = hashtree.Labeled{Label: hashtree.Label(l), Tree: t.children[l].hashTree()}
	}
	return fork(nodes)
}

func fork(nodes []hashtree.Node) hashtree.Node {
	switch len(nodes) {
	case 0:
		return hashtree.Empty{}
	case 1:
		return nodes[0]
	}
	mid := len(nodes) / 2
	return hashtree.Fork{LeftTree: fork(nodes[:mid]), RightTree: fork(nodes[mid:])}
}

// prune returns a tree holding only the subtrees of t at the requested paths (the IC returns
// absent labels by omission of everything not asked for).
func (t *tree) prune(paths [][]string) *tree {
	out := newTree()
	for _, p := range paths {
		src, dst := t, out
		ok := true
		for _, l := range p {
			c, found := src.children[l]
			if !found || src.isLeaf {
				ok = false
				break
			}
			d, found := dst.children[l]
			if !found {
				d = newTree()
				dst.children[l] = d
			}
			src, dst = c, d
		}
		if ok {
			*dst = *src
		}
	}
	return out
}
