package poll

import (
	"context"
	"sync"
	"time"

	"canistry/pkg/ic"
	"canistry/pkg/registry"
)

// recordCycles reads the cycles and memory of a canister whose state this refresh read (nil
// when that read failed: nothing is read) from the first source that can show them, and stores
// the observation with its source, dropping the canister's observations older than the stats
// retention:
//   - a public status canister among its controllers (registry.KnownBlackholes): its
//     canister_status (registry.CyclesBlackhole);
//   - an SNS canister (tag sns:<root>): the root's summary, one call per DAO and sweep
//     (registry.CyclesSNSRoot, see snsCycles);
//   - any other: the management canister's canister_status as a query, which answers when the
//     canister's status is public (registry.CyclesPublicStatus). A refusal (status not public)
//     is stored as the canister's status_retry_at, a day on: until then the canister costs no
//     round trip, and the store keeps it across restarts.
//
// A failure is logged here, where it ends: the next refresh reads again, and the refresh
// itself is not failed by it.
func (p *Poller) recordCycles(ctx context.Context, c registry.Canister, state *registry.CanisterState, at time.Time) {
	if state == nil {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	st, source, err := p.readCycles(rctx, c, state, at)
	if source == "" {
		return
	}
	if err == nil {
		st.ObservedAt, st.Source = at, source
		err = p.store.AddCycles(ctx, st, at.Add(-p.cfg.StatsRetention))
	}
	if err != nil && registry.ErrorCode(err) != registry.ENOTFOUND {
		p.logger.Warn("could not read cycles and memory", "canister_id", c.ID, "source", source, "err", err)
	}
}

// readCycles reads c's status from its source; source "" means there is nothing to read now.
func (p *Poller) readCycles(ctx context.Context, c registry.Canister, state *registry.CanisterState, at time.Time) (registry.CyclesPoint, string, error) {
	if hole := registry.CyclesSource(state.Controllers); hole != "" {
		st, err := p.ic.Cycles(ctx, hole, c.ID)
		return st, registry.CyclesBlackhole, err
	}
	if root := registry.SNSRoot(c.Tags); root != "" {
		points, err := p.sns.cycles(ctx, p.ic, root, at)
		if st, ok := points[c.ID]; ok || err != nil {
			return st, registry.CyclesSNSRoot, err
		}
		// The root does not list it (a dapp it lost, a stale tag): try its own status.
	}
	if c.StatusRetryAt != nil && at.Before(*c.StatusRetryAt) {
		return registry.CyclesPoint{}, "", nil // known private: no round trip until the retry
	}
	st, err := p.ic.PublicStatus(ctx, c.ID)
	switch {
	case ic.IsStatusPrivate(err):
		retry := at.Add(registry.StatusPrivateRetry)
		p.setStatusRetry(ctx, c.ID, &retry)
		return registry.CyclesPoint{}, "", nil
	case err == nil && c.StatusRetryAt != nil:
		p.setStatusRetry(ctx, c.ID, nil) // public again
	}
	return st, registry.CyclesPublicStatus, err
}

// setStatusRetry stores when c's private status is asked again (nil: no longer private); a
// failure is logged: the canister is then asked again at its next refresh.
func (p *Poller) setStatusRetry(ctx context.Context, id registry.CanisterID, at *time.Time) {
	if err := p.store.SetStatusRetry(ctx, id, at); err != nil && registry.ErrorCode(err) != registry.ENOTFOUND {
		p.logger.Warn("could not store when to ask for a private status again", "canister_id", id, "err", err)
	}
}

// snsCycles caches each SNS root's get_sns_canisters_summary for ttl (half the sweep period),
// so that the refreshes of one DAO's canisters in a sweep share one call; concurrent refreshes
// of the same DAO wait for the call in flight.
type snsCycles struct {
	ttl   time.Duration
	mu    sync.Mutex
	roots map[registry.CanisterID]*snsEntry
}

type snsEntry struct {
	mu     sync.Mutex // held while the summary is read
	at     time.Time  // when points were read; zero: never
	points map[registry.CanisterID]registry.CyclesPoint
	err    error
}

func newSNSCycles(ttl time.Duration) *snsCycles {
	return &snsCycles{ttl: ttl, roots: make(map[registry.CanisterID]*snsEntry)}
}

// cycles returns the statuses root reports, from the cache when read within ttl of now.
func (s *snsCycles) cycles(ctx context.Context, client *ic.Client, root registry.CanisterID, now time.Time) (map[registry.CanisterID]registry.CyclesPoint, error) {
	s.mu.Lock()
	e, ok := s.roots[root]
	if !ok {
		e = &snsEntry{}
		s.roots[root] = e
	}
	s.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.at.IsZero() && now.Sub(e.at) < s.ttl && now.Sub(e.at) >= 0 {
		return e.points, e.err
	}
	e.points, e.err = client.SNSCycles(ctx, root)
	e.at = now
	return e.points, e.err
}
