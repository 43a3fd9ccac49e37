package notify_test

import (
	"fmt"
	"strings"
	"testing"

	"canistry/pkg/notify"
)

// BenchmarkParseNotification: ParseNotification on a typical outcall body and on one whose
// data object has 1,000 keys (about 20 KiB), the work the intake does per copy before any I/O.
func BenchmarkParseNotification(b *testing.B) {
	var keys []string
	for i := range 1000 {
		keys = append(keys, fmt.Sprintf(`"key_%04d":%d`, i, i))
	}
	for _, bc := range []struct {
		name string
		body []byte
	}{
		{"typical", solution(1_700_000_000_000_000_000)},
		{"1000keys", notification("custom.event", 1_700_000_000_000_000_000, "{"+strings.Join(keys, ",")+"}")},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := notify.ParseNotification(bc.body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
