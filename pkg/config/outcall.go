package config

import (
	"errors"
	"fmt"
	"time"
)

// The timing of the Internet Computer's HTTPS outcalls, from which the notifier derives every
// per-key decision window: how long a copy of one outcall can still arrive after the first.
// Since May 2026 (dfinity/ic PRs #10150 and #10265) the IC waits up to OutcallDeadline for an
// outcall's responses, and the HTTPS outcalls adapter on each replica gives up on its request
// after OutcallAdapterTimeout.
const (
	// OutcallDeadline is the IC's consensus deadline for an outcall's responses: 120 s (60 s
	// before May 2026).
	OutcallDeadline = 120 * time.Second
	// OutcallAdapterTimeout is the adapter's own request timeout: a slow replica's copy can
	// still be sent up to 150 s after the outcall started.
	OutcallAdapterTimeout = 150 * time.Second
	// OutcallMargin covers what the IC's figures do not: clock differences between notifiers
	// and a copy's time in a proxy and in the intake before it is decided.
	OutcallMargin = 30 * time.Second
	// OutcallWindow (180 s) is how long every per-key decision that copies of one outcall must
	// share stands: a stored rate-limit refusal, and at least, DEDUP_WINDOW's dedup claim.
	OutcallWindow = max(OutcallDeadline, OutcallAdapterTimeout) + OutcallMargin
)

// maxDedupWindow bounds DEDUP_WINDOW.
const maxDedupWindow = 7 * 24 * time.Hour

// dedupWindow sets DEDUP_WINDOW: at least OutcallWindow, or copies of one outcall arriving late
// would be decided anew and could get another reply than the first.
func dedupWindow(c *Config, v string) error {
	d, err := ParseDuration(v)
	if err != nil {
		return errors.New("must be a duration such as 5m or 1h")
	}
	if d < OutcallWindow {
		return fmt.Errorf("must be at least %s, the outcall window (the IC's outcall adapter timeout %s plus a %s margin): a replica's copy can arrive that late and must find its key's decision",
			OutcallWindow, OutcallAdapterTimeout, OutcallMargin)
	}
	if d > maxDedupWindow {
		return fmt.Errorf("must be at most %s", maxDedupWindow)
	}
	c.DedupWindow = d
	return nil
}
