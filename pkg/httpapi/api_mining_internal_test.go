package httpapi

import (
	"encoding/json"
	"testing"
)

// TestShare: a share is part / total, and 0 (never +Inf or NaN, which the JSON encoder refuses
// after the 200 is set: an empty reply) for a total of 0.
func TestShare(t *testing.T) {
	for _, tc := range []struct {
		part, total int64
		want        float64
	}{{1, 2, 0.5}, {3, 3, 1}, {0, 5, 0}, {1, 0, 0}, {0, 0, 0}} {
		got := share(tc.part, tc.total)
		if got != tc.want {
			t.Errorf("share(%d, %d) = %v, want %v", tc.part, tc.total, got, tc.want)
		}
		if _, err := json.Marshal(minerShareJSON{Share: got}); err != nil {
			t.Errorf("share(%d, %d) does not encode: %v", tc.part, tc.total, err)
		}
	}
}
