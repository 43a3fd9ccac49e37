package poll

import (
	"context"
	"time"

	"canistry/pkg/registry"
)

// updateBadges recomputes a canister's trust badges after a refresh and stores them when they
// differ from the stored ones. state is what this refresh read (nil when that read failed:
// nothing is recomputed) and changes what it stored as history. An unchanged canister with
// stored badges costs one primary-key read: the stored row already holds when the current
// module hash was first seen, the last controllers change and whether the hash is a known build
// (module hash writes keep that in step). The first computation and every refresh with a
// change read the history instead (store.BadgeState). A failure is logged here, where it ends:
// the next refresh recomputes.
func (p *Poller) updateBadges(ctx context.Context, id registry.CanisterID, state *registry.CanisterState, changes []registry.Change, at time.Time) {
	if state == nil {
		return
	}
	err := p.saveBadges(ctx, id, state, len(changes) > 0, at)
	if err != nil && registry.ErrorCode(err) != registry.ENOTFOUND {
		p.logger.Warn("could not update trust badges; the next refresh retries", "canister_id", id, "err", err)
	}
}

func (p *Poller) saveBadges(ctx context.Context, id registry.CanisterID, state *registry.CanisterState, changed bool, at time.Time) error {
	stored, err := p.store.Badges(ctx, []registry.CanisterID{id})
	if err != nil {
		return err
	}
	cur, ok := stored[id]
	var in registry.BadgeInput
	if ok && !changed && cur.ImmutableSince != nil {
		in = registry.BadgeInput{ModuleHash: state.ModuleHash, Controllers: state.Controllers, KnownBuild: cur.Verified,
			HashSince: *cur.ImmutableSince}
		if cur.ControllersChangedAt != nil {
			in.ControllersChangedAt = *cur.ControllersChangedAt
		}
	} else if in, _, err = p.store.BadgeState(ctx, id); err != nil {
		return err
	}
	b := registry.ComputeBadges(in, at, registry.DefaultBadgeRules)
	if ok && cur.Equal(&b) {
		return nil
	}
	return p.store.SaveBadges(ctx, id, in.ModuleHash, b)
}
