package notify

import (
	"sync"
	"sync/atomic"
	"time"

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
	e := &entry{id: n.ID, refused: cl.Refused, bodyHash: n.BodyHash, expiresAt: cl.ExpiresAt,
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

// sweep drops the entries whose window has ended.
func (c *cache) sweep(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sweepLocked(now)
}

func (c *cache) sweepLocked(now time.Time) {
	for k, e := range c.m {
		if !now.Before(e.expiresAt) {
			delete(c.m, k)
		}
	}
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

func (c *copyCounter) add(id int64, copies int, diverged bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.m[id]
	if !ok {
		d = &store.NotificationCopies{ID: id}
		c.m[id] = d
	}
	d.Copies += copies
	d.Diverged = d.Diverged || diverged
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
