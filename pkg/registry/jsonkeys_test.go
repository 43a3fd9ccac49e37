package registry_test

import (
	"fmt"
	"strings"
	"testing"

	"canistry/pkg/registry"
)

func TestCheckUniqueKeys(t *testing.T) {
	for _, tc := range []struct {
		body string
		dup  string // the key named in the error; "" = accepted
	}{
		{`{"event":"a","miner_id":"b","data":{"x":1,"y":[1,{"x":2}]}}`, ""},
		{`{"a":{"a":{"a":1}},"b":[{"a":1},{"a":2}]}`, ""}, // the same key in different objects
		{`{}`, ""},
		{`[{"a":1},{"a":1}]`, ""},
		{`"a"`, ""},
		{`{"k":"v","v":"k"}`, ""},        // a value equal to a key is not a key
		{`{"data":{"Id":1,"id":2}}`, ""}, // case counts below the top level
		{`{"event":"a","event":"b"}`, "event"},
		{`{"event":"a","ev\u0065nt":"b"}`, "event"},
		{`{"event":"a","Event":"b"}`, "Event"}, // Go's decoder would take "b"
		{`{"a":1,"b":2,"c":3,"b":4}`, "b"},
		{`{"data":{"x":1,"y":{"z":[1,2],"z":3}}}`, "z"},
		{`{"data":[{"x":1},{"x":1,"x":2}]}`, "x"},
		{`{"a":[],"b":{},"a":null}`, "a"},
		{manyKeys(40, ""), ""},       // a large object is checked by hash
		{manyKeys(40, "k07"), "k07"}, // and still finds a repeat
		{manyKeys(40, "K07")[len(`{"data":`) : len(manyKeys(40, "K07"))-1], "K07"}, // case-folded at the top level
	} {
		err := registry.CheckUniqueKeys([]byte(tc.body))
		switch {
		case tc.dup == "" && err != nil:
			t.Errorf("CheckUniqueKeys(%s) = %v, want nil", tc.body, err)
		case tc.dup != "" && (registry.ErrorCode(err) != registry.EINVALID || !strings.Contains(err.Error(), `"`+tc.dup+`"`)):
			t.Errorf("CheckUniqueKeys(%s) = %v, want invalid naming %q", tc.body, err, tc.dup)
		}
	}
}

// manyKeys returns {"data":{"k00":0,…}} with n keys, and extra once more at the end if set.
func manyKeys(n int, extra string) string {
	var b strings.Builder
	b.WriteString(`{"data":{`)
	for i := range n {
		fmt.Fprintf(&b, `"k%02d":%d,`, i, i)
	}
	if extra != "" {
		fmt.Fprintf(&b, `%q:true,`, extra)
	}
	b.WriteString(`"last":[1,2.5e3,true,null,"x"]}}`)
	return b.String()
}

// BenchmarkCheckUniqueKeys: the check alone on a 1,000-key object (about 14 KiB).
func BenchmarkCheckUniqueKeys(b *testing.B) {
	body := []byte(manyKeys(1000, ""))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := registry.CheckUniqueKeys(body); err != nil {
			b.Fatal(err)
		}
	}
}
