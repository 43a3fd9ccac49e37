package poll

import (
	"hash/fnv"
	"math/rand/v2"
	"time"

	"canistry/pkg/registry"
)

// Offset is a canister's fixed place in a spread sweep: a value in [0, window) derived from
// its id alone (FNV-1a), so the canister is read at the same point of every period (its
// refreshes stay one period apart) and a sweep's start times are spread evenly over the window
// instead of bursting at the tick. A window <= 0 gives 0.
func Offset(id registry.CanisterID, window time.Duration) time.Duration {
	if window <= 0 {
		return 0
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(id))
	return time.Duration(h.Sum64() % uint64(window))
}

// Backoff is how long to wait before trying a canister again after its failures-th
// consecutive failure: exponential backoff with full jitter, a uniform draw from
// [0, min(ceiling, base·2^(failures-1))). With base 1 minute and a ceiling of 1 hour, a
// canister that keeps failing is retried at most an hour apart (30 minutes on average)
// instead of every minute, and failing canisters do not retry in step. rnd draws from [0, n);
// nil means math/rand/v2.
func Backoff(failures int, base, ceiling time.Duration, rnd func(n int64) int64) time.Duration {
	if rnd == nil {
		rnd = rand.Int64N
	}
	if failures < 1 {
		failures = 1
	}
	window := base
	for i := 1; i < failures && window < ceiling; i++ {
		window *= 2
	}
	window = min(window, ceiling)
	if window <= 0 {
		return 0
	}
	return time.Duration(rnd(int64(window)))
}
