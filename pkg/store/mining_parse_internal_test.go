package store

import (
	"strings"
	"testing"
)

// TestParseSolution_HashAndNonce: hash and nonce keep a string's text (escapes decoded,
// invalid UTF-8 replaced as encoding/json does) or a number's digits, at most 200 bytes, and
// are "" for any other JSON value; the outcall still counts.
func TestParseSolution_HashAndNonce(t *testing.T) {
	long := strings.Repeat("ab", 150)
	for _, tc := range []struct{ name, value, want string }{
		{"string", `"00ff"`, "00ff"},
		{"escaped", `"a\"b\\c\u00e9\n"`, "a\"b\\cé\n"},
		{"invalid utf-8", "\"a\xffb\"", "a\uFFFDb"},
		{"number", `42`, "42"},
		{"negative exponent", `-1.5e3`, "-1.5e3"},
		{"huge number", `1e400`, "1e400"},
		{"long", `"` + long + `"`, long[:200]},
		{"null", `null`, ""},
		{"bool", `true`, ""},
		{"object", `{"a":1}`, ""},
		{"array", `[1]`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := `{"token_id":"tok","block_height":7,"hash":` + tc.value + `,"nonce":` + tc.value + `}`
			row, ok := parseSolution(outcallRow{ID: 1, MinerID: "m", Data: data})
			if !ok {
				t.Fatalf("%s: not a solution", data)
			}
			if row.Hash != tc.want || row.Nonce != tc.want {
				t.Fatalf("%s: hash %q, nonce %q, want %q", data, row.Hash, row.Nonce, tc.want)
			}
		})
	}
}
