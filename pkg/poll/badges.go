package poll

import (
	"context"
	"time"

	"canistry/pkg/registry"
)

// updateBadges recomputes a canister's trust badges from what the store holds after a refresh
// (module hash, controllers, their change history, known builds) and stores them when they
// differ from the stored ones, so an unchanged canister costs one read and no write. A failure
// is logged here, where it ends: the badges are recomputed on the next refresh.
func (p *Poller) updateBadges(ctx context.Context, id registry.CanisterID, at time.Time) {
	in, stored, err := p.store.BadgeState(ctx, id)
	if err == nil {
		b := registry.ComputeBadges(in, at, registry.DefaultBadgeRules)
		if stored != nil && stored.Equal(&b) {
			return
		}
		err = p.store.SaveBadges(ctx, id, in.ModuleHash, b)
	}
	if err != nil && registry.ErrorCode(err) != registry.ENOTFOUND {
		p.logger.Warn("could not update trust badges; the next refresh retries", "canister_id", id, "err", err)
	}
}
