package ic

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aviate-labs/agent-go"
	"github.com/aviate-labs/agent-go/certification"
	"github.com/aviate-labs/agent-go/certification/hashtree"
	"github.com/aviate-labs/agent-go/principal"
	"github.com/fxamacker/cbor/v2"
	"golang.org/x/sync/singleflight"
)

// DefaultNodeKeyTTL is how long a subnet's certified node keys are trusted when
// Config.NodeKeyTTL is zero.
const DefaultNodeKeyTTL = 5 * time.Minute

// sharedRounds is how many times a caller waits for a fetch another caller started (for some
// other canister, or for a canister whose fetch failed) before fetching for its own canister.
const sharedRounds = 3

// subnetKeys are the node keys of one subnet, read from a certificate that agent-go's
// certification package verified. Entries are immutable once cached.
type subnetKeys struct {
	id    principal.Principal
	nodes map[string]ed25519.PublicKey // by raw node id
	// ranges are the canister ranges a root-signed delegation gave the subnet.
	ranges certification.CanisterRanges
	// rootSigned is set when the certificate had no delegation: signed by the root key itself,
	// so from the root subnet, as agent-go assumes. It certifies no ranges, so, as with agent-go
	// (which has no range check then), the keys serve only the canister they were read through.
	rootSigned bool
	via        principal.Principal // the canister whose read_state returned the certificate
	expires    time.Time
}

// covers reports whether the subnet is certified to host ecid.
func (k *subnetKeys) covers(ecid principal.Principal) bool {
	if k.rootSigned {
		return string(k.via.Raw) == string(ecid.Raw)
	}
	return k.ranges.InRange(ecid)
}

// key is the cache key: the subnet id, or for a root-signed certificate the subnet id and the
// canister it was read through.
func (k *subnetKeys) key() string {
	if k.rootSigned {
		return string(k.id.Raw) + "/" + string(k.via.Raw)
	}
	return string(k.id.Raw)
}

// nodeKeyCache holds the certified node keys of the subnets queried lately, for a bounded
// time, and fetches missing ones once however many queries miss at the same time.
type nodeKeyCache struct {
	fetch   func(ctx context.Context, ecid principal.Principal) (*subnetKeys, error)
	ttl     time.Duration
	timeout time.Duration // bounds one fetch, which outlives the context of the caller that started it
	now     func() time.Time
	flights singleflight.Group

	mu      sync.RWMutex // read by every query, written by fetches
	subnets map[string]*subnetKeys
}

func newNodeKeyCache(fetch func(context.Context, principal.Principal) (*subnetKeys, error), ttl, timeout time.Duration, now func() time.Time) *nodeKeyCache {
	return &nodeKeyCache{fetch: fetch, ttl: ttl, timeout: timeout, now: now, subnets: make(map[string]*subnetKeys)}
}

// keysFor returns the node keys of the subnet certified to host ecid. stale, when not nil, is
// an entry the caller found wanting (it lacks the node that signed a reply): it is fetched
// again, unless another caller has replaced it meanwhile.
//
// Concurrent misses share one fetch: those for a subnet whose entry expired share by subnet id,
// those for a canister no entry covers share one "discover" fetch, after which each looks
// again (the fetched subnet may host it). A caller that has waited sharedRounds times fetches
// for its own canister. A fetch runs under its own timeout, so a caller giving up does not
// fail the others.
func (c *nodeKeyCache) keysFor(ctx context.Context, ecid principal.Principal, stale *subnetKeys) (*subnetKeys, error) {
	for round := 0; ; round++ {
		k, flight := c.lookup(ecid, stale)
		if k != nil {
			return k, nil
		}
		own := round >= sharedRounds
		if own {
			flight = "canister/" + string(ecid.Raw)
		}
		led := false
		ch := c.flights.DoChan(flight, func() (any, error) {
			// A flight that ended between this caller's lookup and DoChan has filled the
			// cache: use its entry rather than fetch again.
			if k, _ := c.lookup(ecid, stale); k != nil {
				return k, nil
			}
			led = true
			return c.fill(ctx, ecid)
		})
		var r singleflight.Result
		select {
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		case r = <-ch:
		}
		// led is written by this call's own fetch, which has returned before ch delivers.
		switch {
		case r.Err != nil && (led || own):
			return nil, r.Err
		case r.Err != nil:
			continue // another canister's fetch failed; try with ours
		}
		if k := r.Val.(*subnetKeys); k.covers(ecid) {
			return k, nil
		}
		if led || own {
			return nil, fmt.Errorf("certificate read through canister %s does not cover it", ecid)
		}
	}
}

// lookup returns an unexpired entry covering ecid other than stale, or else the name of the
// flight that would fetch it.
func (c *nodeKeyCache) lookup(ecid principal.Principal, stale *subnetKeys) (*subnetKeys, string) {
	now := c.now()
	c.mu.RLock()
	defer c.mu.RUnlock()
	flight := "discover"
	for key, k := range c.subnets {
		if !k.covers(ecid) {
			continue
		}
		if k != stale && now.Before(k.expires) {
			return k, ""
		}
		flight = "subnet/" + key
	}
	return nil, flight
}

// fill fetches the keys of the subnet hosting ecid and caches them. Other entries that
// claimed ecid are dropped (the canister has moved, or their ranges changed), as are expired
// ones, so the cache holds at most one entry per subnet (plus one per root-subnet canister).
func (c *nodeKeyCache) fill(ctx context.Context, ecid principal.Principal) (*subnetKeys, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
	defer cancel()
	start := c.now()
	k, err := c.fetch(ctx, ecid)
	if err != nil {
		return nil, err
	}
	k.expires = start.Add(c.ttl)
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for key, old := range c.subnets {
		if old.covers(ecid) || !now.Before(old.expires) {
			delete(c.subnets, key)
		}
	}
	c.subnets[k.key()] = k
	return k, nil
}

// certifiedNodeKeys returns the Ed25519 keys of the nodes of subnet sid listed in a verified
// certificate tree, by raw node id. A node whose key is missing or is not an Ed25519 key is
// left out: a reply it signs is then refused as from an unknown node.
func certifiedNodeKeys(tree hashtree.HashTree, sid principal.Principal) (map[string]ed25519.PublicKey, error) {
	sub, err := tree.LookupSubTree(hashtree.Label("subnet"), sid.Raw, hashtree.Label("node"))
	if err != nil {
		return nil, fmt.Errorf("nodes of subnet %s: %w", sid, err)
	}
	children, err := hashtree.AllChildren(sub)
	if err != nil {
		return nil, fmt.Errorf("nodes of subnet %s: %w", sid, err)
	}
	nodes := make(map[string]ed25519.PublicKey, len(children))
	for _, n := range children {
		der, err := hashtree.Lookup(n.Value, hashtree.Label("public_key"))
		if err != nil {
			continue
		}
		pub, err := certification.PublicED25519KeyFromDER(der)
		if err != nil || len(*pub) != ed25519.PublicKeySize {
			continue
		}
		nodes[string(n.Path[0])] = *pub
	}
	if len(nodes) == 0 {
		return nil, errors.New("certificate lists no node keys for subnet " + sid.Encode())
	}
	return nodes, nil
}

// fetchSubnetKeys reads the ["subnet"] subtree through ecid's read_state endpoint and checks
// the certificate as agent-go checks the one it fetches for every signed query (freshness, the
// BLS signature under the root key or under a subnet key that a root-signed delegation
// certifies for a range holding ecid), through the client's certVerifier, which verifies each
// distinct delegation once. The subnet is the delegation's, or without delegation agent-go's
// root subnet.
func (c *Client) fetchSubnetKeys(ctx context.Context, ecid principal.Principal) (*subnetKeys, error) {
	cert, err := c.readState(ctx, ecid, [][]hashtree.Label{{hashtree.Label("subnet")}})
	if err != nil {
		return nil, err
	}
	k := &subnetKeys{via: ecid, rootSigned: cert.delegation == nil}
	if d := cert.delegation; d != nil {
		k.id, k.ranges = d.id, d.ranges
	} else if k.id, err = principal.Decode(certification.RootSubnetID); err != nil {
		return nil, fmt.Errorf("root subnet id: %w", err)
	}
	if k.nodes, err = certifiedNodeKeys(cert.tree, k.id); err != nil {
		return nil, err
	}
	return k, nil
}

// readState reads paths through ecid's read_state endpoint and returns the verified
// certificate.
func (c *Client) readState(ctx context.Context, ecid principal.Principal, paths [][]hashtree.Label) (*verifiedCertificate, error) {
	c.certs.reading.Add(1) // its certificate is coming: a batch check may wait for it
	defer c.certs.reading.Add(-1)
	_, body, err := c.envelope(agent.Request{
		Type:          agent.RequestTypeReadState,
		Sender:        c.identity.Sender(),
		Paths:         paths,
		IngressExpiry: c.expiry(),
	})
	if err != nil {
		return nil, err
	}
	raw, err := c.ic.ReadState(ctx, ecid, body)
	if err != nil {
		return nil, err
	}
	cert, err := decodeCertificate(raw)
	if err != nil {
		return nil, err
	}
	return c.certs.verify(cert, ecid)
}

// decodeCertificate returns the certificate of a read_state reply {certificate}.
func decodeCertificate(raw []byte) ([]byte, error) {
	var resp struct {
		Certificate []byte `cbor:"certificate"`
	}
	if err := cbor.Unmarshal(raw, &resp); err != nil {
		return nil, fmt.Errorf("decode read_state reply: %w", err)
	}
	if len(resp.Certificate) == 0 {
		return nil, errors.New("read_state reply has no certificate")
	}
	return resp.Certificate, nil
}
