package ic

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"canistry/pkg/registry"

	"github.com/aviate-labs/agent-go"
	"github.com/aviate-labs/agent-go/certification"
	"github.com/aviate-labs/agent-go/principal"
	"github.com/fxamacker/cbor/v2"
)

// ingressExpiry is how long a request is valid and how old a certificate may be: agent-go's
// default, which the agent is configured with too.
const ingressExpiry = 5 * time.Minute

// responseDomain separates the node signature of a query response (interface spec,
// "query call"): \x0Bic-response.
const responseDomain = "\x0Bic-response"

// queryResponse is the body of a query reply (interface spec, §http-query).
type queryResponse struct {
	Status     string          `cbor:"status"`
	Reply      cbor.RawMessage `cbor:"reply"`
	RejectCode uint64          `cbor:"reject_code"`
	RejectMsg  string          `cbor:"reject_message"`
	ErrorCode  *string         `cbor:"error_code"`
	Signatures []nodeSignature `cbor:"signatures"`
}

// nodeSignature is one replica's signature of a query response. The timestamp is a nat in the
// spec and is hashed as one (ULEB128); agent-go hashes it as int64 (SLEB128), which is the
// same bytes for every timestamp from 1972 to 2116 (2^56 to 2^62 ns).
type nodeSignature struct {
	Timestamp uint64 `cbor:"timestamp"`
	Signature []byte `cbor:"signature"`
	Identity  []byte `cbor:"identity"`
}

// verifiedQuery sends a query of target's method to the effective canister ecid, built and
// signed with agent-go's request types, checks every node signature of the reply against the
// certified keys of ecid's subnet, and returns the Candid reply, or the reject as a
// *registry.RejectError.
func (c *Client) verifiedQuery(ctx context.Context, target, ecid principal.Principal, method string, arg []byte) ([]byte, error) {
	nonce := make([]byte, 10) // as agent-go
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("nonce: %w", err)
	}
	rid, body, err := c.envelope(agent.Request{
		Type:          agent.RequestTypeQuery,
		Sender:        c.identity.Sender(),
		CanisterID:    target,
		MethodName:    method,
		Arguments:     arg,
		IngressExpiry: c.expiry(),
		Nonce:         nonce,
	})
	if err != nil {
		return nil, err
	}
	raw, err := c.ic.Query(ctx, ecid, body)
	if err != nil {
		return nil, err
	}
	var resp queryResponse
	if err := cbor.Unmarshal(raw, &resp); err != nil {
		return nil, fmt.Errorf("decode query reply: %w", err)
	}
	signed, reply, err := resp.signedContent(rid)
	if err != nil {
		return nil, err
	}
	if err := c.verifySignatures(ctx, ecid, resp, signed); err != nil {
		return nil, err
	}
	if resp.Status == "rejected" {
		return nil, &registry.RejectError{Code: resp.RejectCode, Message: resp.RejectMsg, ErrorCode: deref(resp.ErrorCode)}
	}
	return reply, nil
}

// signedContent returns the fields a node signs besides the timestamp (interface spec, "query
// call"; agent-go query.go): {status, reply, request_id} for a reply, {status, reject_code,
// reject_message, error_code, request_id} for a reject, and the reply's Candid argument. The
// reply map is hashed as received, and the argument is taken from that same map. error_code
// is hashed when present (the spec makes it optional; agent-go hashes "" for a missing one,
// which no replica signs, so the two agree on every reply a replica sends with it).
func (r *queryResponse) signedContent(rid agent.RequestID) ([]certification.KeyValuePair, []byte, error) {
	kv := []certification.KeyValuePair{{Key: "status", Value: r.Status}, {Key: "request_id", Value: rid[:]}}
	switch r.Status {
	case "replied":
		var reply map[string]any
		if err := cbor.Unmarshal(r.Reply, &reply); err != nil {
			return nil, nil, fmt.Errorf("decode query reply: %w", err)
		}
		arg, ok := reply["arg"].([]byte)
		if !ok {
			return nil, nil, errors.New("query reply has no arg")
		}
		return append(kv, certification.KeyValuePair{Key: "reply", Value: reply}), arg, nil
	case "rejected":
		kv = append(kv,
			certification.KeyValuePair{Key: "reject_code", Value: r.RejectCode},
			certification.KeyValuePair{Key: "reject_message", Value: r.RejectMsg})
		if r.ErrorCode != nil {
			kv = append(kv, certification.KeyValuePair{Key: "error_code", Value: *r.ErrorCode})
		}
		return kv, nil, nil
	}
	return nil, nil, fmt.Errorf("query reply has unknown status %q", r.Status)
}

// verifySignatures checks that the reply carries signatures and that each is a valid Ed25519
// signature, by a node of the subnet certified to host ecid, over
// \x0Bic-response ‖ hash_of_map(signed ∪ {timestamp}). A signature from a node the cached
// entry does not list makes one refetch of the subnet's keys; if the node is still unknown
// the reply is refused.
func (c *Client) verifySignatures(ctx context.Context, ecid principal.Principal, resp queryResponse, signed []certification.KeyValuePair) error {
	if len(resp.Signatures) == 0 {
		return errors.New("no signatures")
	}
	if len(ecid.Raw) == 0 {
		return errors.New("can not verify signature without effective canister ID") // as agent-go
	}
	keys, err := c.keys.keysFor(ctx, ecid, nil)
	if err != nil {
		return fmt.Errorf("node keys for canister %s: %w", ecid, err)
	}
	refetched := false
	for _, s := range resp.Signatures {
		pub, ok := keys.nodes[string(s.Identity)]
		if !ok && !refetched {
			refetched = true
			if keys, err = c.keys.keysFor(ctx, ecid, keys); err != nil {
				return fmt.Errorf("node keys for canister %s: %w", ecid, err)
			}
			pub, ok = keys.nodes[string(s.Identity)]
		}
		if !ok {
			return fmt.Errorf("query reply signed by node %s, which subnet %s does not list",
				principal.Principal{Raw: s.Identity}, keys.id)
		}
		h, err := certification.RepresentationIndependentHash(append(signed[:len(signed):len(signed)],
			certification.KeyValuePair{Key: "timestamp", Value: s.Timestamp}))
		if err != nil {
			return fmt.Errorf("hash query reply: %w", err)
		}
		if !ed25519.Verify(pub, append([]byte(responseDomain), h[:]...), s.Signature) {
			return fmt.Errorf("invalid %s signature from node %s", resp.Status, principal.Principal{Raw: s.Identity})
		}
	}
	return nil
}

// envelope signs req with the client's identity and encodes it, as agent-go does for its own
// requests: the request id is agent.NewRequestID (the representation-independent hash of the
// content) and the envelope is agent.Envelope.
func (c *Client) envelope(req agent.Request) (agent.RequestID, []byte, error) {
	rid := agent.NewRequestID(req)
	sig, err := rid.Sign(c.identity)
	if err != nil {
		return rid, nil, fmt.Errorf("sign request: %w", err)
	}
	body, err := cbor.Marshal(agent.Envelope{Content: req, SenderPubKey: c.identity.PublicKey(), SenderSig: sig})
	if err != nil {
		return rid, nil, fmt.Errorf("encode request: %w", err)
	}
	return rid, body, nil
}

// expiry is the ingress_expiry of a request sent now (wall clock: the replica checks it).
func (c *Client) expiry() uint64 { return uint64(time.Now().Add(ingressExpiry).UnixNano()) }
