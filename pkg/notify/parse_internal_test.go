package notify

import (
	"encoding/json"
	"testing"

	"canistry/pkg/registry"
)

// TestPlainString: the fast path takes only strings without escapes, and returns exactly what
// json.Unmarshal returns for them; everything else goes to the decoder.
func TestPlainString(t *testing.T) {
	tests := []struct {
		v    string
		fast bool
	}{
		{`"solution_found"`, true},
		{`""`, true},
		{`"ryjl3-tyaaa-aaaaa-aaaba-cai"`, true},
		{`"héllo ✓ 𝄞"`, true},
		{`"a\"b"`, false},
		{`"\u0041"`, false},
		{`"a\\"`, false},
		{`12`, false},
		{`null`, false},
		{`{"a":"b"}`, false},
		{`"`, false},
	}
	for _, tc := range tests {
		got, ok := plainString(json.RawMessage(tc.v))
		if ok != tc.fast {
			t.Errorf("plainString(%s): fast path %v, want %v", tc.v, ok, tc.fast)
			continue
		}
		if !ok {
			continue
		}
		var want string
		if err := json.Unmarshal([]byte(tc.v), &want); err != nil {
			t.Fatalf("json.Unmarshal(%s): %v", tc.v, err)
		}
		if got != want {
			t.Errorf("plainString(%s) = %q, json.Unmarshal gives %q", tc.v, got, want)
		}
	}
}

// TestIsJSON: the plain media type is decided without parsing, every other spelling as
// mime.ParseMediaType decides it.
func TestIsJSON(t *testing.T) {
	for ct, want := range map[string]bool{
		"application/json": true, "application/json; charset=utf-8": true, "Application/JSON": true,
		" application/json": true, "": false, "text/plain": false, "application/json;": true,
		"application/json; =bad": false, "application/jsonx": false,
	} {
		if got := isJSON(ct); got != want {
			t.Errorf("isJSON(%q) = %v, want %v", ct, got, want)
		}
	}
}

// TestPrincipalSet: a remembered text is answered as registry.ParseCanisterID answers it, the
// first time and every later time; rejected texts are never remembered.
func TestPrincipalSet(t *testing.T) {
	set := &principalSet{m: map[string]struct{}{}}
	for _, s := range []string{"ryjl3-tyaaa-aaaaa-aaaba-cai", "RYJL3-TYAAA-AAAAA-AAABA-CAI", "ryjl3-tyaaa-aaaaa-aaaba-caj", "", "aaaaa-aa"} {
		want, wantErr := registry.ParseCanisterID(s)
		for round := range 2 {
			got, err := set.parse(s)
			if got != want || (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) {
				t.Errorf("round %d: parse(%q) = %q, %v; ParseCanisterID gives %q, %v", round, s, got, err, want, wantErr)
			}
		}
		if _, kept := set.m[s]; kept != (wantErr == nil) {
			t.Errorf("%q remembered: %v, want %v", s, kept, wantErr == nil)
		}
	}
}
