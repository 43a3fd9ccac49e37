// Package ratelimit holds the token buckets of the outcall endpoints (the intake's per-miner
// limits, the relay's per caller and route): a map of limiters by name, reserved one token at
// a time and given back when the copy that took it turns out to be a duplicate, so that limits
// count calls, not replica copies.
package ratelimit

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// MaxKeyed bounds a Keyed map; idle limiters are pruned long before.
const MaxKeyed = 100_000

// Keyed is one limiter per name, created on first use, all with the same rate and burst.
type Keyed struct {
	limit rate.Limit
	burst int
	mu    sync.Mutex
	m     map[string]*rate.Limiter
}

// PerSecond is a configured rate per second (NOTIFY_RATE_PER_KEY, RELAY_RATE, …) as a limit:
// 0 (or less) means unlimited.
func PerSecond(perSecond float64) rate.Limit {
	if perSecond <= 0 {
		return rate.Inf
	}
	return rate.Limit(perSecond)
}

// NewKeyed returns limiters of limit per second and burst; rate.Inf means unlimited.
func NewKeyed(limit rate.Limit, burst int) *Keyed {
	return &Keyed{limit: limit, burst: burst, m: map[string]*rate.Limiter{}}
}

// Get returns name's limiter, creating it; nil (no limit) when unlimited, or if the map is full
// of active limiters, which other limits make unreachable in practice.
func (k *Keyed) Get(name string, now time.Time) *rate.Limiter {
	if k.limit == rate.Inf {
		return nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if lim, ok := k.m[name]; ok {
		return lim
	}
	if len(k.m) >= MaxKeyed {
		k.pruneLocked(now)
		if len(k.m) >= MaxKeyed {
			return nil
		}
	}
	lim := rate.NewLimiter(k.limit, k.burst)
	k.m[name] = lim
	return lim
}

// Prune drops limiters that have refilled completely: they are indistinguishable from new ones.
func (k *Keyed) Prune(now time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.pruneLocked(now)
}

func (k *Keyed) pruneLocked(now time.Time) {
	for id, lim := range k.m {
		if lim.TokensAt(now) >= float64(lim.Burst()) {
			delete(k.m, id)
		}
	}
}

// Reservation is one token taken from each of several limiters.
type Reservation struct{ rs []*rate.Reservation }

// Cancel gives the tokens back (the copy turned out to be a duplicate).
func (r Reservation) Cancel(now time.Time) {
	for _, x := range r.rs {
		x.CancelAt(now)
	}
}

// Reserve takes one token from every limiter (nil ones are unlimited). ok is false, and nothing
// is taken, when any of them is exhausted.
func Reserve(now time.Time, lims ...*rate.Limiter) (Reservation, bool) {
	var out Reservation
	for _, lim := range lims {
		if lim == nil {
			continue
		}
		r := lim.ReserveN(now, 1)
		if !r.OK() || r.DelayFrom(now) > 0 {
			r.CancelAt(now)
			out.Cancel(now)
			return Reservation{}, false
		}
		out.rs = append(out.rs, r)
	}
	return out, true
}
