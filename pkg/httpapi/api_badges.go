package httpapi

import (
	"context"

	"canistry/pkg/registry"
)

// badgesJSON are a canister's trust badges as the poller last stored them: none (and null
// times) before its first computation.
type badgesJSON struct {
	Badges               []string `json:"badges"`
	ImmutableSince       *string  `json:"immutable_since"`
	ImmutableBasis       *string  `json:"immutable_basis"`
	ControllersChangedAt *string  `json:"controllers_changed_at"`
	BadgesComputedAt     *string  `json:"badges_computed_at"`
}

func toBadgesJSON(b *registry.Badges) badgesJSON {
	at := rfc3339(b.ComputedAt)
	return badgesJSON{Badges: b.Names(), ImmutableSince: optTime(b.ImmutableSince), ImmutableBasis: optString(b.ImmutableBasis),
		ControllersChangedAt: optTime(b.ControllersChangedAt), BadgesComputedAt: &at}
}

// canisterBadges reads the stored badges of recs.
func (a *api) canisterBadges(ctx context.Context, recs []registry.CanisterRecord) (map[registry.CanisterID]registry.Badges, error) {
	ids := make([]registry.CanisterID, len(recs))
	for i := range recs {
		ids[i] = recs[i].ID
	}
	return a.d.Store.Badges(ctx, ids)
}

// withBadges sets the badges of out from m (unchanged when m has none for it).
func withBadges(out canisterJSON, m map[registry.CanisterID]registry.Badges) canisterJSON {
	if b, ok := m[registry.CanisterID(out.CanisterID)]; ok {
		out.badgesJSON = toBadgesJSON(&b)
	}
	return out
}

func (q *query) badge(name string) string {
	v, ok := q.c.GetQuery(name)
	if !ok {
		return ""
	}
	b, err := registry.ParseBadge(v)
	if err != nil {
		q.fail("%s", registry.ErrorMessage(err))
	}
	return b
}
