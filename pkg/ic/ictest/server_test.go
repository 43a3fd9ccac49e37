package ictest_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"canistry/pkg/ic/ictest"

	"github.com/aviate-labs/agent-go"
	"github.com/aviate-labs/agent-go/certification"
	"github.com/aviate-labs/agent-go/identity"
	"github.com/aviate-labs/agent-go/principal"
	"github.com/fxamacker/cbor/v2"
)

var canister = principal.Principal{Raw: []byte{0, 0, 0, 0, 0, 0, 0, 1, 1, 1}}

// newAgent returns an agent-go agent for s with signed-query verification on.
func newAgent(t *testing.T, s *ictest.Server, id identity.Identity) *agent.Agent {
	t.Helper()
	u, err := url.Parse(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(agent.Config{
		Identity:     id,
		FetchRootKey: true,
		ClientConfig: []agent.ClientOption{agent.WithHostURL(u), agent.WithHttpClient(&http.Client{Timeout: 10 * time.Second})},
	})
	if err != nil {
		t.Fatalf("agent.New: %v", err)
	}
	return a
}

func TestServer_Status(t *testing.T) {
	s := ictest.NewServer(t)
	a := newAgent(t, s, nil)
	if !bytes.Equal(a.GetRootKey(), s.RootKey()) {
		t.Fatal("agent did not fetch the double's root key")
	}
	if _, err := certification.PublicBLSKeyFromDER(s.RootKey()); err != nil {
		t.Fatalf("root key is not a DER BLS key: %v", err)
	}
}

func TestServer_SignedSenders(t *testing.T) {
	s := ictest.NewServer(t)
	s.AddCanister(canister, make([]byte, 32)).Reply("hello", "world")
	ed, err := identity.NewRandomEd25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		id   identity.Identity
	}{{"Anonymous", nil}, {"Ed25519", ed}, {"Prime256v1", identity.NewPrime256v1Identity(key)}} {
		t.Run(tc.name, func(t *testing.T) {
			a := newAgent(t, s, tc.id)
			var out string
			if err := a.QueryWithContext(t.Context(), canister, "hello", nil, []any{&out}); err != nil || out != "world" {
				t.Fatalf("query = %q, %v", out, err)
			}
			if _, err := a.GetTime(canister); err != nil {
				t.Fatalf("read_state: %v", err)
			}
		})
	}
}

// post sends a raw CBOR body to a canister endpoint and returns status and body.
func post(t *testing.T, s *ictest.Server, endpoint string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost,
		s.URL()+"/api/"+endpoint, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/cbor")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// signedQuery builds a query envelope signed by id over the request id of req, then lets
// tamper change the content after signing.
func signedQuery(t *testing.T, id identity.Identity, req agent.Request, tamper func(*agent.Request)) []byte {
	t.Helper()
	rid := agent.NewRequestID(req)
	sig, err := rid.Sign(id)
	if err != nil {
		t.Fatal(err)
	}
	if tamper != nil {
		tamper(&req)
	}
	body, err := cbor.Marshal(agent.Envelope{Content: req, SenderPubKey: id.PublicKey(), SenderSig: sig})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func TestServer_QueryRequests(t *testing.T) {
	s := ictest.NewServer(t)
	s.AddCanister(canister, make([]byte, 32)).Reply("hello", "world")
	ed, err := identity.NewRandomEd25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	expiry := uint64(time.Now().Add(2 * time.Minute).UnixNano())
	arg := []byte("DIDL\x00\x00")
	query := func(sender principal.Principal) agent.Request {
		return agent.Request{Type: agent.RequestTypeQuery, Sender: sender, CanisterID: canister,
			MethodName: "hello", Arguments: arg, IngressExpiry: expiry, Nonce: []byte{1, 2, 3}}
	}
	anon := func(req agent.Request) []byte {
		b, err := cbor.Marshal(agent.Envelope{Content: req})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	path := "v2/canister/" + canister.Encode() + "/query"

	for _, tc := range []struct {
		name string
		path string
		body []byte
		want int
	}{
		{"OKSigned", path, signedQuery(t, ed, query(ed.Sender()), nil), http.StatusOK},
		{"OKAnonymous", path, anon(query(principal.AnonymousID)), http.StatusOK},
		{"OKTaggedCBOR", path, append([]byte{0xd9, 0xd9, 0xf7}, anon(query(principal.AnonymousID))...), http.StatusOK},
		// The client signed one request id; the content the double receives hashes to another.
		{"ErrRequestIDMismatch", path, signedQuery(t, ed, query(ed.Sender()), func(r *agent.Request) { r.MethodName = "other" }), http.StatusBadRequest},
		{"ErrRequestIDMismatchNonce", path, signedQuery(t, ed, query(ed.Sender()), func(r *agent.Request) { r.Nonce = []byte{9} }), http.StatusBadRequest},
		{"ErrSenderNotKeyOwner", path, signedQuery(t, ed, query(canister), nil), http.StatusBadRequest},
		{"ErrExpired", path, anon(func() agent.Request { r := query(principal.AnonymousID); r.IngressExpiry = 1; return r }()), http.StatusBadRequest},
		{"ErrWrongEndpoint", "v3/canister/" + canister.Encode() + "/read_state", anon(query(principal.AnonymousID)), http.StatusBadRequest},
		{"ErrCanisterIDNotEffective", "v2/canister/aaaaa-aa/query", anon(query(principal.AnonymousID)), http.StatusBadRequest},
		{"ErrNotCBOR", path, []byte("{}"), http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, body := post(t, s, tc.path, tc.body); got != tc.want {
				t.Fatalf("status = %d, want %d (%s)", got, tc.want, body)
			}
		})
	}
}

func TestServer_RejectCarriesErrorCode(t *testing.T) {
	s := ictest.NewServer(t)
	s.AddCanister(canister, make([]byte, 32))
	b, err := cbor.Marshal(agent.Envelope{Content: agent.Request{Type: agent.RequestTypeQuery, Sender: principal.AnonymousID,
		CanisterID: canister, MethodName: "missing", Arguments: []byte("DIDL\x00\x00"),
		IngressExpiry: uint64(time.Now().Add(time.Minute).UnixNano())}})
	if err != nil {
		t.Fatal(err)
	}
	status, body := post(t, s, "v2/canister/"+canister.Encode()+"/query", b)
	if !bytes.HasPrefix(body, []byte{0xd9, 0xd9, 0xf7}) {
		t.Error("reply is not self-described CBOR")
	}
	var resp agent.Response
	if err := cbor.Unmarshal(body, &resp); err != nil || status != http.StatusOK {
		t.Fatalf("status %d, decode: %v", status, err)
	}
	if resp.Status != "rejected" || resp.RejectCode != 3 || resp.ErrorCode != "IC0536" || len(resp.Signatures) != 1 {
		t.Errorf("response = %+v", resp)
	}
}
