package store

import (
	"fmt"
	"testing"
)

// TestCover: the tiers of a range are disjoint, made of whole units each, and together exactly
// [from, to].
func TestCover(t *testing.T) {
	const d, h, m = dayMs, hourMs, minuteMs
	for _, c := range []struct {
		from, to int64
		units    []int64
		want     string
	}{
		{0, d - 1, []int64{d, h}, "[[{0 86400000}] [] []]"},
		{h + 1, 3*d - 1, []int64{d, h}, "[[{86400000 259200000}] [{7200000 86400000}] [{3600001 7200000}]]"},
		{h, h + 30*m, []int64{d, h}, "[[] [] [{3600000 5400001}]]"},
		{5*m + 7, 2*h + 3*m, []int64{h, m}, "[[{3600000 7200000}] [{360000 3600000} {7200000 7380000}] [{300007 360000} {7380000 7380001}]]"},
		{10, 20, []int64{h, m}, "[[] [] [{10 21}]]"},
	} {
		got := cover(c.from, c.to, c.units...)
		if s := fmt.Sprint(got); s != c.want {
			t.Errorf("cover(%d, %d): %s, want %s", c.from, c.to, s, c.want)
		}
		var total int64
		for i, tier := range got {
			for _, sp := range tier {
				if i < len(c.units) && (sp.lo%c.units[i] != 0 || sp.hi%c.units[i] != 0) {
					t.Errorf("cover(%d, %d): %v is not whole units of %d", c.from, c.to, sp, c.units[i])
				}
				total += sp.hi - sp.lo
			}
		}
		if total != c.to-c.from+1 {
			t.Errorf("cover(%d, %d) covers %d ms, want %d", c.from, c.to, total, c.to-c.from+1)
		}
	}
}
