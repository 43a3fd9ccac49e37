package registry_test

import (
	"encoding/json"
	"testing"

	"canistry/pkg/registry"
)

func TestParseNat(t *testing.T) {
	for _, c := range []struct {
		raw, want string
		ok        bool
	}{
		{`7`, "7", true}, {`"18446744073709551617"`, "18446744073709551617", true}, {`"000120"`, "120", true},
		{`0`, "0", true}, {`"0000"`, "0", true}, {`340282366920938463463374607431768211456`, "340282366920938463463374607431768211456", true},
		{`-1`, "", false}, {`1.5`, "", false}, {`1e3`, "", false}, {`"0x10"`, "", false}, {`""`, "", false},
		{`null`, "", false}, {`true`, "", false}, {`{"a":1}`, "", false}, {``, "", false},
	} {
		got, ok := registry.ParseNat(json.RawMessage(c.raw))
		if got != c.want || ok != c.ok {
			t.Errorf("ParseNat(%s) = %q, %v; want %q, %v", c.raw, got, ok, c.want, c.ok)
		}
	}
}

// TestNatKey: byte order of the keys is numeric order, and NatFromKey inverts NatKey.
func TestNatKey(t *testing.T) {
	ascending := []string{"0", "9", "10", "999", "18446744073709551615", "18446744073709551617", "99999999999999999999", "100000000000000000000"}
	for i, n := range ascending {
		if registry.NatFromKey(registry.NatKey(n)) != n {
			t.Errorf("round trip of %s", n)
		}
		if i > 0 && !(registry.NatKey(ascending[i-1]) < registry.NatKey(n)) {
			t.Errorf("key of %s not below key of %s", ascending[i-1], n)
		}
	}
	if registry.NatKey("") != "" || registry.NatFromKey("") != "" {
		t.Error("no value must stay no value")
	}
}
