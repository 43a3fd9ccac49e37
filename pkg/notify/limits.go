package notify

import (
	"time"

	"golang.org/x/time/rate"

	"canistry/pkg/ratelimit"
)

// Limits are the rate limits of the intake. They count notifications, not copies: only the copy
// that would create a new notification spends a token, and gets it back if the key turns out
// to be claimed already, so a storm of 13 or 34 replica copies costs one token and a duplicate
// copy is never limited.
type Limits struct {
	// PerKey is the sustained rate of new notifications per API key, PerKeyBurst its burst.
	PerKey      rate.Limit
	PerKeyBurst int
	// PerMiner is the sustained rate of new notifications per miner_id, PerMinerBurst its burst.
	PerMiner      rate.Limit
	PerMinerBurst int
}

// DefaultLimits allow a miner a burst of 60 notifications and 2 a second after that, and one
// API key (shared by many miners) 500 and 50 a second: far above what a miner sends, far below
// what a leaked key could flood the database with.
func DefaultLimits() Limits {
	return Limits{PerKey: 50, PerKeyBurst: 500, PerMiner: 2, PerMinerBurst: 60}
}

// LimitsOf is the Limits of configured rates (per second; 0 means unlimited,
// ratelimit.PerSecond) and bursts (NOTIFY_RATE_PER_KEY and the rest).
func LimitsOf(perKey float64, perKeyBurst int, perMiner float64, perMinerBurst int) Limits {
	return Limits{PerKey: ratelimit.PerSecond(perKey), PerKeyBurst: perKeyBurst,
		PerMiner: ratelimit.PerSecond(perMiner), PerMinerBurst: perMinerBurst}
}

// Unlimited disables rate limiting (benchmarks, load tests).
func Unlimited() Limits { return Limits{PerKey: rate.Inf, PerMiner: rate.Inf} }

// limiters holds one limiter per API key and one per miner.
type limiters struct {
	keys   []*rate.Limiter
	miners *ratelimit.Keyed
}

func newLimiters(cfg Limits, keys int) *limiters {
	l := &limiters{miners: ratelimit.NewKeyed(cfg.PerMiner, cfg.PerMinerBurst)}
	for range keys {
		var lim *rate.Limiter // nil: unlimited
		if cfg.PerKey != rate.Inf {
			lim = rate.NewLimiter(cfg.PerKey, cfg.PerKeyBurst)
		}
		l.keys = append(l.keys, lim)
	}
	return l
}

// reservation is a token taken from the key's and the miner's limiters.
type reservation struct{ r ratelimit.Reservation }

// cancel gives the tokens back (the copy turned out to be a duplicate).
func (r reservation) cancel(now time.Time) { r.r.Cancel(now) }

// reserve takes one token from the limiter of API key keyIdx and one from miner's. ok is false
// (and nothing is taken) when either is exhausted.
func (l *limiters) reserve(keyIdx int, miner string, now time.Time) (reservation, bool) {
	r, ok := ratelimit.Reserve(now, l.keys[keyIdx], l.miners.Get(miner, now))
	return reservation{r}, ok
}

// prune drops limiters that have refilled completely: they are indistinguishable from new ones.
func (l *limiters) prune(now time.Time) { l.miners.Prune(now) }
