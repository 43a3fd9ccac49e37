package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"canistry/pkg/httpserver"
	"canistry/pkg/registry"
)

// Defaults of the admin-key throttle (ADMIN_AUTH_FAILURES, ADMIN_AUTH_WINDOW): ten wrong keys a
// minute per source are far more than a person mistyping and far too few to guess a key.
const (
	DefaultAuthFailures = 10
	DefaultAuthWindow   = time.Minute
	// maxAuthSources bounds the sources remembered; expired ones are dropped first.
	maxAuthSources = 10_000
)

// adminAuth checks the admin bearer token of writes and of the /system/status detail, and
// throttles wrong ones per source: after Failures wrong keys from one source (an IPv4 address
// or an IPv6 /64, as gin's ClientIP sees it) within Window of the first, every bearer attempt
// from it is answered 429 too_many with Retry-After until the window ends, without looking at
// the key (a 429 for a wrong key and a 200 for the right one would still answer each guess).
// A right key is never counted; other sources are not affected. The first refusal of a source
// in a window is logged once at WARN; canistry_admin_auth_failures_total counts wrong keys and
// refused attempts.
type adminAuth struct {
	max     int
	window  time.Duration
	now     func() time.Time
	logger  *slog.Logger
	counter *prometheus.CounterVec

	mu      sync.Mutex
	sources map[netip.Prefix]*authFailures
}

// authFailures are one source's wrong keys in its current window.
type authFailures struct {
	start  time.Time // the window's first wrong key
	n      int
	logged bool
}

func newAdminAuth(d APIDeps, reg *prometheus.Registry) *adminAuth {
	a := &adminAuth{max: d.AdminAuthFailures, window: d.AdminAuthWindow, now: d.Now, logger: d.Logger,
		sources: map[netip.Prefix]*authFailures{},
		counter: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "canistry_admin_auth_failures_total",
			Help: "Admin bearer attempts refused: result=wrong_key (403), result=throttled (429, the source had too many wrong keys)."},
			[]string{"result"})}
	if a.logger == nil {
		a.logger = slog.New(slog.DiscardHandler)
	}
	if a.max <= 0 {
		a.max = DefaultAuthFailures
	}
	if a.window <= 0 {
		a.window = DefaultAuthWindow
	}
	if reg != nil {
		a.counter = httpserver.RegisterOnce(reg, a.counter)
	}
	a.counter.WithLabelValues("wrong_key") // both series exist from the start
	a.counter.WithLabelValues("throttled")
	return a
}

// check returns whether the request carries key (not empty) as its bearer token. No
// Authorization header is (false, nil); a throttled source gets ETOOMANY (and Retry-After), a
// wrong key EFORBIDDEN with the message wrong.
func (a *adminAuth) check(c *gin.Context, key, wrong string) (bool, error) {
	h := c.GetHeader("Authorization")
	if h == "" {
		return false, nil
	}
	src := authSource(c.ClientIP())
	if wait := a.blocked(src); wait > 0 {
		a.counter.WithLabelValues("throttled").Inc()
		c.Header("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
		return false, registry.Errorf(registry.ETOOMANY, "too many wrong admin keys from this address; retry later")
	}
	scheme, token, _ := strings.Cut(h, " ")
	got, want := sha256.Sum256([]byte(strings.TrimSpace(token))), sha256.Sum256([]byte(key))
	if key != "" && strings.EqualFold(scheme, "Bearer") && subtle.ConstantTimeCompare(got[:], want[:]) == 1 {
		return true, nil
	}
	a.fail(src)
	a.counter.WithLabelValues("wrong_key").Inc()
	return false, registry.Errorf(registry.EFORBIDDEN, "%s", wrong)
}

// blocked returns how long src must still wait, or 0 when it may try.
func (a *adminAuth) blocked(src netip.Prefix) time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	f := a.sources[src]
	if f == nil {
		return 0
	}
	now := a.now()
	end := f.start.Add(a.window)
	if !now.Before(end) {
		delete(a.sources, src)
		return 0
	}
	if f.n < a.max {
		return 0
	}
	if !f.logged {
		f.logged = true
		a.logger.Warn("admin key: too many wrong keys; refusing this source until the window ends",
			"source", src.String(), "failures", f.n, "window", a.window.String(), "until", end.UTC().Format(time.RFC3339))
	}
	return end.Sub(now)
}

// fail counts a wrong key from src.
func (a *adminAuth) fail(src netip.Prefix) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	f := a.sources[src]
	if f == nil || !now.Before(f.start.Add(a.window)) {
		if len(a.sources) >= maxAuthSources {
			for k, old := range a.sources {
				if !now.Before(old.start.Add(a.window)) {
					delete(a.sources, k)
				}
			}
		}
		f = &authFailures{start: now}
		a.sources[src] = f
	}
	f.n++
}

// authSource is the throttle's unit: an IPv4 address, or the /64 of an IPv6 address (one host
// usually has a whole /64).
func authSource(ip string) netip.Prefix {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return netip.Prefix{}
	}
	addr = addr.Unmap().WithZone("")
	bits := 32
	if addr.Is6() {
		bits = 64
	}
	p, _ := addr.Prefix(bits)
	return p
}
