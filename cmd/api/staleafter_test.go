package main

import (
	"testing"
	"time"
)

func TestStaleAfter(t *testing.T) {
	for _, tt := range []struct {
		schedule string
		want     time.Duration
	}{
		{"@every 1m", 3 * time.Minute},
		{"@every 10s", time.Minute}, // never below a minute
		{"*/5 * * * *", 15 * time.Minute},
		{"@hourly", 3 * time.Hour},
	} {
		if got := staleAfter(tt.schedule); got != tt.want {
			t.Errorf("staleAfter(%q) = %s, want %s", tt.schedule, got, tt.want)
		}
	}
}
