package notify

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
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

// Unlimited disables rate limiting (benchmarks, load tests).
func Unlimited() Limits { return Limits{PerKey: rate.Inf, PerMiner: rate.Inf} }

// maxLimiters bounds the per-miner map; idle limiters are pruned long before.
const maxLimiters = 100_000

// limiters holds one limiter per API key and one per miner.
type limiters struct {
	cfg    Limits
	keys   []*rate.Limiter
	mu     sync.Mutex
	miners map[string]*rate.Limiter
}

func newLimiters(cfg Limits, keys int) *limiters {
	l := &limiters{cfg: cfg, miners: map[string]*rate.Limiter{}}
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
type reservation struct{ rs []*rate.Reservation }

// cancel gives the tokens back (the copy turned out to be a duplicate).
func (r reservation) cancel(now time.Time) {
	for _, x := range r.rs {
		x.CancelAt(now)
	}
}

// reserve takes one token from the limiter of API key keyIdx and one from miner's. ok is false
// (and nothing is taken) when either is exhausted.
func (l *limiters) reserve(keyIdx int, miner string, now time.Time) (reservation, bool) {
	var out reservation
	for _, lim := range []*rate.Limiter{l.keys[keyIdx], l.miner(miner, now)} {
		if lim == nil {
			continue
		}
		r := lim.ReserveN(now, 1)
		if !r.OK() || r.DelayFrom(now) > 0 {
			r.CancelAt(now)
			out.cancel(now)
			return reservation{}, false
		}
		out.rs = append(out.rs, r)
	}
	return out, true
}

// miner returns miner's limiter, creating it; nil (no per-miner limit) when unlimited, or if the
// map is full of active limiters, which the per-key limit makes unreachable in practice.
func (l *limiters) miner(id string, now time.Time) *rate.Limiter {
	if l.cfg.PerMiner == rate.Inf {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if lim, ok := l.miners[id]; ok {
		return lim
	}
	if len(l.miners) >= maxLimiters {
		l.pruneLocked(now)
		if len(l.miners) >= maxLimiters {
			return nil
		}
	}
	lim := rate.NewLimiter(l.cfg.PerMiner, l.cfg.PerMinerBurst)
	l.miners[id] = lim
	return lim
}

// prune drops limiters that have refilled completely: they are indistinguishable from new ones.
func (l *limiters) prune(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pruneLocked(now)
}

func (l *limiters) pruneLocked(now time.Time) {
	for id, lim := range l.miners {
		if lim.TokensAt(now) >= float64(lim.Burst()) {
			delete(l.miners, id)
		}
	}
}
