package notify

import (
	"sync"
	"sync/atomic"
	"time"

	"canistry/pkg/registry"
	"canistry/pkg/store"
)

// maxCached bounds the replay cache. At the default per-key rate and window it holds far
// fewer; when full, new keys are simply not cached and their copies go to the database.
const maxCached = 200_000

// entry is what the intake remembers of a claimed key until its window ends: enough to answer
// a copy without the database.
type entry struct {
	id        int64
	refused   bool   // a refusal (rate limited): no notification, copies are not counted
	claimed   bool   // this process claimed it: it observes the copy histograms at expiry
	bodyHash  string // the first copy's body hash
	resp      response
	expiresAt time.Time
	warned    atomic.Bool // a divergence was logged already
}

// cache maps dedup keys to entries. It is an optimisation only: the database decides, and a
// copy that misses the cache (another process, a restart) is answered from the stored row.
type cache struct {
	mu sync.RWMutex
	m  map[string]*entry
}

func newCache() *cache { return &cache{m: map[string]*entry{}} }

func (c *cache) get(key string, now time.Time) (*entry, bool) {
	c.mu.RLock()
	e, ok := c.m[key]
	c.mu.RUnlock()
	if !ok || !now.Before(e.expiresAt) {
		return nil, false
	}
	return e, true
}

// put remembers the claim of key and returns its entry.
func (c *cache) put(key string, cl store.NotificationClaim, now time.Time) *entry {
	n := &cl.Notification
	e := &entry{id: n.ID, refused: cl.Refused, claimed: cl.Claimed, bodyHash: n.BodyHash, expiresAt: cl.ExpiresAt,
		resp: response{status: n.ResponseStatus, body: n.ResponseBody}}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxCached {
		c.sweepLocked(now)
	}
	if len(c.m) < maxCached {
		c.m[key] = e
	}
	return e
}

// sweep drops the entries whose window has ended and returns the ids of those this process
// claimed: their copies are all in (a copy after the window is a new notification).
func (c *cache) sweep(now time.Time) []int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sweepLocked(now)
}

func (c *cache) sweepLocked(now time.Time) []int64 {
	var ended []int64
	for k, e := range c.m {
		if !now.Before(e.expiresAt) {
			delete(c.m, k)
			if e.claimed {
				ended = append(ended, e.id)
			}
		}
	}
	return ended
}

// copyCounter collects the copies answered from memory until the next flush writes them to the
// notifications' copies and diverged columns in one transaction.
type copyCounter struct {
	mu sync.Mutex
	m  map[int64]*store.NotificationCopies
}

func newCopyCounter() *copyCounter {
	return &copyCounter{m: map[int64]*store.NotificationCopies{}}
}

// add counts n's copies; of their records, only as many are kept as the store would record.
func (c *copyCounter) add(n store.NotificationCopies) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.m[n.ID]
	if !ok {
		d = &store.NotificationCopies{ID: n.ID}
		c.m[n.ID] = d
	}
	d.Copies += n.Copies
	d.Diverged = d.Diverged || n.Diverged
	room := max(registry.MaxRecordedCopies-len(d.Records), 0)
	d.Records = append(d.Records, n.Records[:min(room, len(n.Records))]...)
}

// take returns the pending counts and starts a new batch.
func (c *copyCounter) take() []store.NotificationCopies {
	c.mu.Lock()
	m := c.m
	c.m = map[int64]*store.NotificationCopies{}
	c.mu.Unlock()
	out := make([]store.NotificationCopies, 0, len(m))
	for _, d := range m {
		out = append(out, *d)
	}
	return out
}
