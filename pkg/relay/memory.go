package relay

import (
	"sync"
	"time"

	"canistry/pkg/registry"
	"canistry/pkg/store"
)

// outcome is a decided key as its copies in this process share it.
type outcome struct {
	reply       registry.RelayReply
	id          int64     // the call; 0 when nothing was decided (503)
	fingerprint string    // the first copy's
	until       time.Time // when the key's claim ends; zero: do not remember
}

// flight is a key being decided in this process; its copies wait on done.
type flight struct {
	done chan struct{}
	out  outcome
}

// memory coalesces the copies of a key in flight in this process (one decides, the others wait
// for it), remembers decided keys until their claims end, and counts the copies it answered,
// for the next flush. Memory only saves work: the database decides.
type memory struct {
	mu      sync.Mutex
	flights map[string]*flight
	cache   map[string]outcome
	pending map[int64]*store.RelayCopies
}

func newMemory() *memory {
	return &memory{flights: map[string]*flight{}, cache: map[string]outcome{}, pending: map[int64]*store.RelayCopies{}}
}

// answer returns the reply of key for one copy (its fingerprint and source family): from
// memory, from the flight deciding it, or by deciding it with lead. waited reports a copy that
// waited for another in this process.
func (m *memory) answer(key, fp, family string, now time.Time, lead func() outcome) (out outcome, how string) {
	m.mu.Lock()
	if o, ok := m.cache[key]; ok && now.Before(o.until) {
		m.countLocked(&o, fp, family)
		m.mu.Unlock()
		return o, "memory"
	}
	if f, ok := m.flights[key]; ok {
		m.mu.Unlock()
		<-f.done // a copy in this process is deciding the key
		m.mu.Lock()
		m.countLocked(&f.out, fp, family)
		m.mu.Unlock()
		return f.out, "waited_local"
	}
	f := &flight{done: make(chan struct{})}
	m.flights[key] = f
	m.mu.Unlock()
	defer close(f.done)
	f.out = lead()
	m.mu.Lock()
	delete(m.flights, key)
	if !f.out.until.IsZero() && f.out.id != 0 {
		m.cache[key] = f.out
	}
	m.mu.Unlock()
	return f.out, "decided"
}

func (m *memory) countLocked(o *outcome, fp, family string) {
	if o.id == 0 {
		return
	}
	p := m.pending[o.id]
	if p == nil {
		p = &store.RelayCopies{ID: o.id}
		m.pending[o.id] = p
	}
	p.Copies++
	switch family {
	case "ipv4":
		p.IPv4++
	case "ipv6":
		p.IPv6++
	}
	p.Diverged = p.Diverged || fp != o.fingerprint
}

// takePending returns the counts to write and forgets them.
func (m *memory) takePending() []store.RelayCopies {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]store.RelayCopies, 0, len(m.pending))
	for id, p := range m.pending {
		out = append(out, *p)
		delete(m.pending, id)
	}
	return out
}

// sweep forgets the keys whose claims ended.
func (m *memory) sweep(now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, o := range m.cache {
		if !now.Before(o.until) {
			delete(m.cache, k)
		}
	}
}
