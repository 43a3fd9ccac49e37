package httpapi

import (
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"canistry/pkg/registry"
)

// Totals of lists are cached. Counting every row that matches a filter is the one part of a
// list request whose cost grows with the table (100,000 canisters and a q filter scan them all).
// An entry is keyed by the database's data version (set by the read cache, see totalKey), so a
// total is recomputed as soon as any process commits; totalsTTL bounds entries whose filter
// depends on the clock (stale) and requests answered without a data version. Pages are cached
// by the read cache, under the same version.
const (
	totalsTTL        = 2 * time.Second
	totalsMaxEntries = 1024
)

type totals struct {
	mu sync.Mutex
	m  map[string]totalEntry
}

type totalEntry struct {
	n       int64
	expires time.Time
}

func newTotals() *totals { return &totals{m: map[string]totalEntry{}} }

// get returns the cached total for key if it is still fresh.
func (t *totals) get(key string) (int64, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.m[key]
	if !ok || time.Now().After(e.expires) {
		return 0, false
	}
	return e.n, true
}

func (t *totals) put(key string, n int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.m) >= totalsMaxEntries {
		clear(t.m)
	}
	t.m[key] = totalEntry{n: n, expires: time.Now().Add(totalsTTL)}
}

func (t *totals) clear() {
	t.mu.Lock()
	defer t.mu.Unlock()
	clear(t.m)
}

// totalKey names a list and its filter: the path and the query without the page position. A
// staleness threshold is rounded to the second so that requests a few milliseconds apart share
// an entry.
func totalKey(c *gin.Context, stale registry.Staleness) string {
	q := c.Request.URL.Query()
	for _, k := range []string{"cursor", "limit", "order", "stale_after"} {
		q.Del(k)
	}
	if stale.Want != nil {
		q.Set("stale_before", strconv.FormatInt(stale.Before.Unix(), 10))
	}
	if rv, ok := c.Get(dataVersionKey); ok {
		if v, err := rv.(*requestVersion).get(); err == nil {
			q.Set("data_version", strconv.FormatInt(v, 10))
		}
	}
	return c.Request.URL.Path + "?" + q.Encode()
}

// cachedTotal returns the cached total for the list c asks for, and otherwise asks the store
// for one (p.WithTotal). remember stores the store's answer.
func (t *totals) cachedTotal(key string, p *registry.Page) *int64 {
	n, ok := t.get(key)
	p.WithTotal = !ok
	if !ok {
		return nil
	}
	return &n
}

// remember stores total (when the store computed one) and returns the total to reply with.
func (t *totals) remember(key string, cached, total *int64) *int64 {
	if cached != nil {
		return cached
	}
	if total != nil {
		t.put(key, *total)
	}
	return total
}
