package ic

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aviate-labs/agent-go/certification"
	"github.com/aviate-labs/agent-go/principal"
	"github.com/fxamacker/cbor/v2"
)

// mainnetFixtures are certificates signed under mainnet's root key, copied from the official
// agents' test suites (see testdata/mainnet/README.md), with a canister each was read through.
// A fixture is a certificate, or with reply set a read_state reply body {certificate}.
var mainnetFixtures = []struct {
	file, canister   string
	reply, delegated bool
}{
	{"agent-js_sample_cert_delegation.hex", "ivg37-qiaaa-aaaab-aaaga-cai", false, true},
	{"agent-js_golden_mainnet_application.hex", "erxue-5aaaa-aaaab-qaagq-cai", false, true},
	{"agent-js_golden_mainnet_system.hex", "ryjl3-tyaaa-aaaaa-aaaba-cai", false, false},
	{"agent-js_with_subnet_key.hex", "rdmx6-jaaaa-aaaaa-aaadq-cai", false, true},
	{"agent-rs_ivg37_time.hex", "ivg37-qiaaa-aaaab-aaaga-cai", true, true},         // v3: sharded /canister_ranges
	{"agent-rs_ivg37_delegated_v2.hex", "ivg37-qiaaa-aaaab-aaaga-cai", true, true}, // v2: /subnet/<id>/canister_ranges
	{"agent-rs_224od_subnet.hex", "224od-giaaa-aaaao-ae5vq-cai", true, true},
}

// prunedMainnetFixtures are agent-rs's mainnet replies with the delegation's canister ranges
// pruned away by hand: every signature still holds (pruning keeps the root hash), but the
// subnet is no longer certified to host the canister, so they must be refused.
var prunedMainnetFixtures = []string{"agent-rs_ivg37_time_pruned_ranges.hex", "agent-rs_ivg37_delegated_v2_pruned_subnet.hex"}

func readMainnetCertificate(t *testing.T, file string, reply bool) []byte {
	t.Helper()
	raw := readFixture(t, file)
	if !reply {
		return raw
	}
	cert, err := decodeCertificate(raw)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func readFixture(t *testing.T, file string) []byte {
	t.Helper()
	h, err := os.ReadFile(filepath.Join("testdata", "mainnet", file))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := hex.DecodeString(strings.TrimSpace(string(h)))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// mainnetRootKey is agent-go's built-in mainnet root key (DER).
func mainnetRootKey(t *testing.T) []byte {
	t.Helper()
	root, err := hex.DecodeString(certification.RootKey)
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// mainnetVerifier verifies with agent-go's built-in mainnet root key at time at.
func mainnetVerifier(t *testing.T, at time.Time) *certVerifier {
	t.Helper()
	v, err := newCertVerifier(mainnetRootKey(t), ingressExpiry, time.Hour, func() time.Time { return at })
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// mutationOffsets are the offsets of a fixture to change one byte at: named parts (the
// certificate's signature, the delegation's subnet id and its certificate's signature, the
// time) and every 53rd byte after the self-describing CBOR tag.
func mutationOffsets(t *testing.T, raw []byte) map[string]int {
	t.Helper()
	var c rawCertificate
	if err := cbor.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	offs := map[string]int{}
	at := func(name string, part []byte, i int) {
		if j := bytes.Index(raw, part); j >= 0 && len(part) > 0 {
			offs[name] = j + i
		}
	}
	at("signature/first", c.Signature, 0)
	at("signature/last", c.Signature, len(c.Signature)-1)
	if tb, err := c.Tree.Lookup([]byte("time")); err == nil {
		at("time", tb, len(tb)-1)
	}
	if len(c.Delegation) > 0 {
		var d certification.Delegation
		if err := cbor.Unmarshal(c.Delegation, &d); err != nil {
			t.Fatal(err)
		}
		at("delegation/subnet_id", d.SubnetId.Raw, len(d.SubnetId.Raw)/2)
		at("delegation/signature", d.Certificate.Signature, 10)
		if pk, err := d.Certificate.Tree.Lookup([]byte("subnet"), d.SubnetId.Raw, []byte("public_key")); err == nil {
			at("delegation/public_key", pk, len(pk)-5)
		}
	}
	for i := 3; i < len(raw); i += 53 {
		offs[fmt.Sprintf("offset/%05d", i)] = i
	}
	return offs
}

// TestMainnetCertificates: every mainnet certificate verifies under the built-in root key at
// its own time, as certVerifier and as agent-go check it, and is refused after any one of its
// bytes is changed.
func TestMainnetCertificates(t *testing.T) {
	for _, f := range mainnetFixtures {
		t.Run(f.file, func(t *testing.T) {
			raw := readMainnetCertificate(t, f.file, f.reply)
			ecid, err := principal.Decode(f.canister)
			if err != nil {
				t.Fatal(err)
			}
			at := certTime(t, raw)
			v := mainnetVerifier(t, at)
			cert, err := v.verify(raw, ecid)
			if err != nil {
				t.Fatalf("verify at %s: %v", at.UTC().Format(time.RFC3339), err)
			}
			if (cert.delegation != nil) != f.delegated {
				t.Fatalf("delegation = %v, want one: %v", cert.delegation != nil, f.delegated)
			}
			var ag certification.Certificate
			if err := cbor.Unmarshal(raw, &ag); err != nil {
				t.Fatal(err)
			}
			if err := certification.VerifyCertificate(ag, ecid, mainnetRootKey(t)); err != nil {
				t.Fatalf("agent-go refuses it: %v", err)
			}
			if _, err := mainnetVerifier(t, at.Add(ingressExpiry+time.Second)).verify(raw, ecid); err == nil {
				t.Fatal("verified after its maximum age")
			}
			offs := mutationOffsets(t, raw)
			t.Logf("certificate time %s; %d one-byte changes", at.UTC().Format(time.RFC3339Nano), len(offs))
			for name, off := range offs {
				mutated := bytes.Clone(raw)
				mutated[off] ^= 0x01
				if _, err := mainnetVerifier(t, at).verify(mutated, ecid); err == nil {
					t.Errorf("%s (byte %d of %d changed): verified", name, off, len(raw))
				}
			}
		})
	}
}

func TestMainnetCertificates_PrunedRangesRefused(t *testing.T) {
	ecid, err := principal.Decode("ivg37-qiaaa-aaaab-aaaga-cai")
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range prunedMainnetFixtures {
		t.Run(file, func(t *testing.T) {
			raw := readMainnetCertificate(t, file, true)
			_, err := mainnetVerifier(t, certTime(t, raw)).verify(raw, ecid)
			if err == nil || !strings.Contains(err.Error(), "canister ranges") {
				t.Fatalf("err = %v, want the canister ranges refused", err)
			}
		})
	}
}
