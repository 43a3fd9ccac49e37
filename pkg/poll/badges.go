package poll

import (
	"context"
	"time"

	"canistry/pkg/registry"
)

// updateBadges recomputes a canister's trust badges after a refresh and stores them when they
// differ from the stored ones. state is what this refresh read (nil when that read failed:
// nothing is recomputed), tok the token it read (nil: not a token, or its read failed, and the
// stored ledger badges stay) and changes what it stored as history. An unchanged canister with
// stored badges costs one primary-key read: the stored row already holds since when its code is
// unchanged, the last controllers change and whether the hash is a known build (module hash
// writes keep that in step). The first computation and every refresh with a change read the
// history instead (store.BadgeState). Immutability counts from the certified last install when
// the IC certifies it, else from the first sight of the module hash. A failure is logged here,
// where it ends: the next refresh recomputes.
func (p *Poller) updateBadges(ctx context.Context, c registry.Canister, state *registry.CanisterState, tok *registry.TokenInfo, changes []registry.Change, at time.Time) {
	if state == nil {
		return
	}
	err := p.saveBadges(ctx, c, state, tok, len(changes) > 0, at)
	if err != nil && registry.ErrorCode(err) != registry.ENOTFOUND {
		p.logger.Warn("could not update trust badges; the next refresh retries", "canister_id", c.ID, "err", err)
	}
}

func (p *Poller) saveBadges(ctx context.Context, c registry.Canister, state *registry.CanisterState, tok *registry.TokenInfo, changed bool, at time.Time) error {
	stored, err := p.store.Badges(ctx, []registry.CanisterID{c.ID})
	if err != nil {
		return err
	}
	installed := state.LastInstalledAt
	if installed == nil {
		installed = c.LastInstalledAt
	}
	cur, ok := stored[c.ID]
	var in registry.BadgeInput
	if ok && !changed && cur.ImmutableSince != nil && (installed != nil || cur.ImmutableBasis != registry.ImmutableFromInstall) {
		in = registry.BadgeInput{ModuleHash: state.ModuleHash, Controllers: state.Controllers, KnownBuild: cur.Verified,
			HashSince: *cur.ImmutableSince, Ledger: cur.LedgerBadges}
		if cur.ControllersChangedAt != nil {
			in.ControllersChangedAt = *cur.ControllersChangedAt
		}
		if installed != nil {
			// At the store's precision, or the stored badges (ms) never equal the computed ones
			// and an unchanged canister would rewrite them at every refresh.
			in.InstalledAt = installed.Truncate(time.Millisecond)
		}
	} else if in, _, err = p.store.BadgeState(ctx, c.ID); err != nil {
		return err
	}
	if tok != nil {
		in.Ledger = registry.LedgerBadgesOf(tok)
	}
	b := registry.ComputeBadges(in, at, registry.DefaultBadgeRules)
	if ok && cur.Equal(&b) {
		return nil
	}
	return p.store.SaveBadges(ctx, c.ID, in.ModuleHash, b)
}
