package ictest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"time"

	"github.com/aviate-labs/agent-go/certification"
	"github.com/aviate-labs/agent-go/principal"
	"github.com/fxamacker/cbor/v2"
)

// maxBody caps a request body; the IC's own limit for ingress messages is about 3.5 MB.
const maxBody = 4 << 20

// maxExpiry is how far in the future ingress_expiry may lie (the IC allows 5 minutes plus
// some clock skew).
const maxExpiry = 6 * time.Minute

// anonymous is the raw anonymous principal.
var anonymous = []byte{0x04}

// envelope is an HTTP request body: {content, sender_pubkey?, sender_sig?, sender_delegation?}.
type envelope struct {
	Content          cbor.RawMessage `cbor:"content"`
	SenderPubKey     []byte          `cbor:"sender_pubkey"`
	SenderSig        []byte          `cbor:"sender_sig"`
	SenderDelegation cbor.RawMessage `cbor:"sender_delegation"`
}

// content is the signed part of a query or read_state request.
type content struct {
	RequestType   string     `cbor:"request_type"`
	CanisterID    []byte     `cbor:"canister_id"`
	MethodName    string     `cbor:"method_name"`
	Arg           []byte     `cbor:"arg"`
	Sender        []byte     `cbor:"sender"`
	IngressExpiry uint64     `cbor:"ingress_expiry"`
	Nonce         []byte     `cbor:"nonce"`
	Paths         [][][]byte `cbor:"paths"`
}

// request is a decoded and authenticated request with its recomputed id.
type request struct {
	content
	id [32]byte
}

// readRequest decodes the body (tagged or untagged CBOR), recomputes the request id from the
// content as received (the representation-independent hash), and checks type, expiry, and the
// sender: anonymous without a signature, or a self-authenticating principal whose key signed
// "\x0Aic-request" followed by the recomputed id. A request id that does not match what the
// client signed is therefore detected as a bad signature; an anonymous request carries no id at
// all, so there is nothing to mismatch.
func readRequest(r *http.Request, wantType string, now time.Time) (request, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return request{}, fmt.Errorf("read body: %w", err)
	}
	if len(body) > maxBody {
		return request{}, fmt.Errorf("request body exceeds %d bytes", maxBody)
	}
	var env envelope
	if err := cbor.Unmarshal(body, &env); err != nil {
		return request{}, fmt.Errorf("decode envelope: %w", err)
	}
	if len(env.Content) == 0 {
		return request{}, errors.New("envelope has no content")
	}
	var fields map[string]any
	if err := cbor.Unmarshal(env.Content, &fields); err != nil {
		return request{}, fmt.Errorf("decode content: %w", err)
	}
	var req request
	if err := cbor.Unmarshal(env.Content, &req.content); err != nil {
		return request{}, fmt.Errorf("decode content: %w", err)
	}
	if req.id, err = certification.HashAny(fields); err != nil {
		return request{}, fmt.Errorf("request id: %w", err)
	}
	if req.RequestType != wantType {
		return request{}, fmt.Errorf("request_type %q sent to the %s endpoint", req.RequestType, wantType)
	}
	expiry := time.Unix(0, int64(req.IngressExpiry))
	switch {
	case req.IngressExpiry == 0:
		return request{}, errors.New("ingress_expiry is missing")
	case expiry.Before(now):
		return request{}, fmt.Errorf("ingress_expiry %s is in the past", expiry.UTC().Format(time.RFC3339Nano))
	case expiry.After(now.Add(maxExpiry)):
		return request{}, fmt.Errorf("ingress_expiry %s is too far in the future", expiry.UTC().Format(time.RFC3339Nano))
	}
	if err := checkSender(env, req); err != nil {
		return request{}, err
	}
	return req, nil
}

func checkSender(env envelope, req request) error {
	if len(env.SenderDelegation) > 0 {
		return errors.New("sender delegations are not supported by the replica double")
	}
	if bytes.Equal(req.Sender, anonymous) {
		if env.SenderPubKey != nil || env.SenderSig != nil {
			return errors.New("anonymous request must not carry sender_pubkey or sender_sig")
		}
		return nil
	}
	if len(req.Sender) == 0 {
		return errors.New("sender is missing")
	}
	if env.SenderPubKey == nil || env.SenderSig == nil {
		return fmt.Errorf("request from %s is not signed", principal.Principal{Raw: req.Sender})
	}
	if want := principal.NewSelfAuthenticating(env.SenderPubKey).Raw; !bytes.Equal(req.Sender, want) {
		return fmt.Errorf("sender %s does not match sender_pubkey", principal.Principal{Raw: req.Sender})
	}
	msg := append([]byte("\x0Aic-request"), req.id[:]...)
	if err := verifySignature(env.SenderPubKey, msg, env.SenderSig); err != nil {
		return fmt.Errorf("invalid signature for request id %x: %w", req.id, err)
	}
	return nil
}

// verifySignature checks an Ed25519 or ECDSA P-256 (r‖s over SHA-256) signature; other key
// types (secp256k1, WebAuthn) are not supported by the double.
func verifySignature(der, msg, sig []byte) error {
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return fmt.Errorf("unsupported sender_pubkey: %w", err)
	}
	switch k := pub.(type) {
	case ed25519.PublicKey:
		if !ed25519.Verify(k, msg, sig) {
			return errors.New("Ed25519 signature does not verify")
		}
	case *ecdsa.PublicKey:
		h := sha256.Sum256(msg)
		if len(sig) != 64 || !ecdsa.Verify(k, h[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
			return errors.New("ECDSA signature does not verify")
		}
	default:
		return fmt.Errorf("unsupported sender_pubkey type %T", pub)
	}
	return nil
}
