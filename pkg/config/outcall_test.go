package config_test

import (
	"strings"
	"testing"
	"time"

	"canistry/pkg/config"
)

// TestOutcallWindow: the window outlasts the IC's outcall deadline and adapter timeout.
func TestOutcallWindow(t *testing.T) {
	if config.OutcallWindow < config.OutcallDeadline || config.OutcallWindow < config.OutcallAdapterTimeout+config.OutcallMargin {
		t.Fatalf("OutcallWindow %s is shorter than the IC's deadline %s or adapter timeout %s plus margin",
			config.OutcallWindow, config.OutcallDeadline, config.OutcallAdapterTimeout)
	}
	if got, want := config.OutcallWindow, 180*time.Second; got != want {
		t.Errorf("OutcallWindow = %s, want %s (README documents it)", got, want)
	}
}

// TestLoad_DedupWindow: DEDUP_WINDOW must cover the outcall window; the error says why.
func TestLoad_DedupWindow(t *testing.T) {
	tests := []struct {
		value string
		want  time.Duration
		err   string
	}{
		{"", 5 * time.Minute, ""},
		{"3m", 3 * time.Minute, ""},
		{"1h", time.Hour, ""},
		{"2m59s", 0, "at least 3m0s, the outcall window"},
		{"1m", 0, "at least 3m0s, the outcall window"},
		{"8d", 0, "at most 168h0m0s"},
		{"soon", 0, "must be a duration"},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			c, err := config.Load(env(map[string]string{"DEDUP_WINDOW": tt.value}))
			if tt.err == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if c.DedupWindow != tt.want {
					t.Errorf("DedupWindow = %s, want %s", c.DedupWindow, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "DEDUP_WINDOW") || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("error %v, want one naming DEDUP_WINDOW and saying %q", err, tt.err)
			}
		})
	}
}
