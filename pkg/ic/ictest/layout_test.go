package ictest_test

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"canistry/pkg/ic/ictest"

	"github.com/aviate-labs/agent-go"
	"github.com/aviate-labs/agent-go/certification"
	"github.com/aviate-labs/agent-go/certification/hashtree"
	"github.com/aviate-labs/agent-go/principal"
	"github.com/fxamacker/cbor/v2"
)

// TestServer_CanisterRangesPerAPIVersion reads ["subnet"] on both read_state versions. The
// delegation certifies the canister ranges where each version's clients look for them — the
// legacy /subnet/<id>/canister_ranges on v2, the sharded /canister_ranges/<id>/<shard> on v3,
// never both — and the subnet reply itself carries /subnet/<id>/canister_ranges and the node
// keys (agent-js 3.x checks the canister against those ranges before trusting the keys).
func TestServer_CanisterRangesPerAPIVersion(t *testing.T) {
	s := ictest.NewServer(t)
	s.AddCanister(canister, make([]byte, 32))
	sid := s.SubnetID()
	legacy := []hashtree.Label{hashtree.Label("subnet"), sid.Raw, hashtree.Label("canister_ranges")}
	sharded := []hashtree.Label{hashtree.Label("canister_ranges"), sid.Raw}

	for _, tc := range []struct {
		version      string
		want, absent []hashtree.Label
	}{
		{"v2", legacy, sharded},
		{"v3", sharded, legacy},
	} {
		t.Run(tc.version, func(t *testing.T) {
			cert := readSubnet(t, s, tc.version)
			if cert.Delegation == nil {
				t.Fatal("no delegation")
			}
			if got := cert.Delegation.SubnetId; !bytes.Equal(got.Raw, sid.Raw) {
				t.Fatalf("delegation subnet = %s, want %s", got, sid)
			}
			inner := cert.Delegation.Certificate.Tree
			if _, err := inner.LookupSubTree(tc.want...); err != nil {
				t.Errorf("delegation has no %s: %v", labels(tc.want), err)
			}
			if _, err := inner.LookupSubTree(tc.absent...); err == nil {
				t.Errorf("delegation of %s read_state also has %s", tc.version, labels(tc.absent))
			}
			ranges, err := certification.LookupCanisterRanges(inner, sid)
			if err != nil || !ranges.InRange(canister) {
				t.Errorf("delegated ranges %v (err %v) do not hold %s", ranges, err, canister)
			}
			if _, err := cert.Tree.Lookup(legacy...); err != nil {
				t.Errorf("subnet reply has no %s: %v", labels(legacy), err)
			}
			nodes, err := cert.Tree.LookupSubTree(hashtree.Label("subnet"), sid.Raw, hashtree.Label("node"))
			if err != nil {
				t.Fatalf("subnet reply has no node keys: %v", err)
			}
			if kids, err := hashtree.AllChildren(nodes); err != nil || len(kids) == 0 {
				t.Errorf("node keys: %d (err %v)", len(kids), err)
			}
		})
	}
}

// readSubnet posts an anonymous read_state of ["subnet"] for canister to /api/<version> and
// decodes the certificate.
func readSubnet(t *testing.T, s *ictest.Server, version string) certification.Certificate {
	t.Helper()
	req := agent.Request{Type: agent.RequestTypeReadState, Sender: principal.AnonymousID,
		Paths: [][]hashtree.Label{{hashtree.Label("subnet")}}, IngressExpiry: uint64(time.Now().Add(2 * time.Minute).UnixNano())}
	body, err := cbor.Marshal(agent.Envelope{Content: req})
	if err != nil {
		t.Fatal(err)
	}
	code, resp := post(t, s, version+"/canister/"+canister.Encode()+"/read_state", body)
	if code != http.StatusOK {
		t.Fatalf("read_state: %d %s", code, resp)
	}
	var rs struct {
		Certificate []byte `cbor:"certificate"`
	}
	if err := cbor.Unmarshal(resp, &rs); err != nil {
		t.Fatalf("decode reply: %v", err)
	}
	var cert certification.Certificate
	if err := cbor.Unmarshal(rs.Certificate, &cert); err != nil {
		t.Fatalf("decode certificate: %v", err)
	}
	return cert
}

func labels(p []hashtree.Label) string {
	var b bytes.Buffer
	for _, l := range p {
		b.WriteByte('/')
		if len(l) > 0 && l[0] >= 'a' && l[0] <= 'z' {
			b.Write(l)
		} else {
			b.WriteString("<id>")
		}
	}
	return b.String()
}
