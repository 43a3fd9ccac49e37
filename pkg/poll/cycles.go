package poll

import (
	"context"
	"time"

	"canistry/pkg/registry"
)

// recordCycles reads the cycles and memory of a canister whose controllers, as this refresh
// read them (state; nil when that read failed), include a public status canister
// (registry.KnownBlackholes) through that canister, and stores the observation, dropping the
// canister's observations older than the stats retention. Other canisters cost nothing. A
// failure is logged here, where it ends: the next refresh reads again, and the refresh itself
// is not failed by it.
func (p *Poller) recordCycles(ctx context.Context, id registry.CanisterID, state *registry.CanisterState, at time.Time) {
	if state == nil {
		return
	}
	source := registry.CyclesSource(state.Controllers)
	if source == "" {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	st, err := p.ic.Cycles(rctx, source, id)
	cancel()
	if err == nil {
		st.ObservedAt = at
		err = p.store.AddCycles(ctx, st, at.Add(-p.cfg.StatsRetention))
	}
	if err != nil && registry.ErrorCode(err) != registry.ENOTFOUND {
		p.logger.Warn("could not read cycles and memory through the status canister", "canister_id", id,
			"status_canister", source, "err", err)
	}
}
