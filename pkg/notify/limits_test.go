package notify_test

import (
	"testing"

	"golang.org/x/time/rate"

	"canistry/pkg/config"
	"canistry/pkg/notify"
	"canistry/pkg/ratelimit"
)

// The environment's defaults (NOTIFY_RATE_PER_KEY and the rest) are the intake's own
// DefaultLimits, and a rate of 0 means unlimited.
func TestLimitsOf(t *testing.T) {
	c, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if got := notify.LimitsOf(c.NotifyRatePerKey, c.NotifyBurstPerKey, c.NotifyRatePerMiner, c.NotifyBurstPerMiner); got != notify.DefaultLimits() {
		t.Errorf("limits of the default configuration %+v, want DefaultLimits %+v", got, notify.DefaultLimits())
	}
	for _, tc := range []struct {
		in   float64
		want rate.Limit
	}{{0, rate.Inf}, {0.5, 0.5}, {50, 50}} {
		if got := ratelimit.PerSecond(tc.in); got != tc.want {
			t.Errorf("ratelimit.PerSecond(%g) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
