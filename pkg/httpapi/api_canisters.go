package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"canistry/pkg/registry"
	"canistry/pkg/store"
)

// registerBody is the body of POST /canisters.
type registerBody struct {
	CanisterID  string   `json:"canister_id"`
	Kind        string   `json:"kind"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Tags        []string `json:"tags"`
}

// updateBody is the body of PUT /canisters/{id}: the fields to change. canister_id may be
// repeated but must then equal the path's.
type updateBody struct {
	CanisterID  *string   `json:"canister_id"`
	Kind        *string   `json:"kind"`
	Name        *string   `json:"name"`
	Description *string   `json:"description"`
	Tags        *[]string `json:"tags"`
}

func (a *api) listCanisters(c *gin.Context) {
	q := newQuery(c, "limit", "cursor", "order", "kind", "tag", "verified", "stale", "stale_after", "q", "badge")
	f := registry.CanisterFilter{Kind: q.kind("kind"), Tag: q.str("tag", registry.MaxTagLen),
		Verified: q.boolean("verified"), Query: q.str("q", registry.MaxQueryLen), Badge: q.badge("badge"), Page: q.page(false)}
	stale, before := q.staleness(a.d.Now(), a.d.StaleAfter)
	f.Stale = stale
	if q.err != nil {
		a.werr(c, q.err)
		return
	}
	var badges map[registry.CanisterID]registry.Badges
	replyPage(a, c, &f.Page, f.Stale, func(ctx context.Context) (registry.List[registry.CanisterRecord], error) {
		page, err := a.d.Store.ListCanisters(ctx, f)
		if err == nil {
			badges, err = a.canisterBadges(ctx, page.Items)
		}
		return page, err
	}, func(r *registry.CanisterRecord) canisterJSON { return withBadges(toCanisterJSON(r, before), badges) })
}

func (a *api) getCanister(c *gin.Context) {
	var badges *registry.Badges
	replyOne(a, c, func(ctx context.Context, id registry.CanisterID) (rec registry.CanisterRecord, err error) {
		rec, badges, err = a.d.Store.GetCanisterBadges(ctx, id)
		return rec, err
	}, func(r *registry.CanisterRecord, before time.Time) canisterJSON {
		out := toCanisterJSON(r, before)
		if badges != nil {
			out.badgesJSON = toBadgesJSON(badges)
		}
		return out
	})
}

func (a *api) createCanister(c *gin.Context) {
	var body registerBody
	if err := decodeJSON(c, &body); err != nil {
		a.werr(c, err)
		return
	}
	id, err := registry.ParseCanisterID(body.CanisterID)
	if err != nil {
		a.werr(c, err)
		return
	}
	if body.Kind == "" {
		a.werr(c, registry.Errorf(registry.EINVALID, "kind is required: token, miner, wallet or other"))
		return
	}
	ann := a.announcement(registry.EventCanisterRegistered)
	rec, err := a.d.Store.CreateCanister(c.Request.Context(), registry.Canister{ID: id, Kind: registry.Kind(body.Kind),
		Name: body.Name, Description: body.Description, Tags: body.Tags}, ann)
	if err != nil {
		a.werr(c, err)
		return
	}
	a.totals.clear()
	out := toCanisterJSON(&rec, a.d.Now().Add(-a.d.StaleAfter))
	a.publish(c, ann)
	if err := a.d.Bus.RequestRefresh(id); err != nil {
		a.d.Logger.Warn("registered canister but could not ask for its refresh; the next sweep reads it",
			"canister_id", id, "err", err)
	}
	c.Header("Location", "/canisters/"+string(id))
	c.JSON(http.StatusCreated, out)
}

func (a *api) updateCanister(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		a.werr(c, err)
		return
	}
	var body updateBody
	if err := decodeJSON(c, &body); err != nil {
		a.werr(c, err)
		return
	}
	if body.CanisterID != nil && *body.CanisterID != string(id) {
		a.werr(c, registry.Errorf(registry.EINVALID, "canister_id %q in the body differs from %s in the path", *body.CanisterID, id))
		return
	}
	u := registry.CanisterUpdate{Name: body.Name, Description: body.Description, Tags: body.Tags}
	if body.Kind != nil {
		k := registry.Kind(*body.Kind)
		u.Kind = &k
	}
	if u.Empty() {
		a.werr(c, registry.Errorf(registry.EINVALID, "nothing to update: give at least one of kind, name, description, tags"))
		return
	}
	ann := a.announcement(registry.EventCanisterUpdated)
	rec, err := a.d.Store.UpdateCanister(c.Request.Context(), id, u, ann)
	if err != nil {
		a.werr(c, err)
		return
	}
	a.totals.clear()
	out := toCanisterJSON(&rec, a.d.Now().Add(-a.d.StaleAfter))
	a.publish(c, ann)
	c.JSON(http.StatusOK, out)
}

func (a *api) deleteCanister(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		a.werr(c, err)
		return
	}
	ann := a.announcement(registry.EventCanisterDeleted)
	if _, err := a.d.Store.DeleteCanister(c.Request.Context(), id, ann); err != nil {
		a.werr(c, err)
		return
	}
	a.totals.clear()
	a.publish(c, ann)
	c.Status(http.StatusNoContent)
}

func (a *api) canisterHistory(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		a.werr(c, err)
		return
	}
	q := newQuery(c, "limit", "cursor")
	p := q.page(true)
	if q.err != nil {
		a.werr(c, q.err)
		return
	}
	page, err := a.d.Store.CanisterHistory(c.Request.Context(), id, p)
	if err != nil {
		a.werr(c, err)
		return
	}
	if p.After == 0 && len(page.Items) == 0 {
		// No history and not registered: an unknown id. (The history of a deleted canister
		// stays readable.)
		if _, err := a.d.Store.GetCanister(c.Request.Context(), id); err != nil {
			a.werr(c, err)
			return
		}
	}
	c.JSON(http.StatusOK, newList(page.Items, page.Next, nil, p.Limit, toChangeJSON))
}

// refreshReply is the 202 body of the refresh endpoints.
type refreshReply struct {
	Requested  string  `json:"requested"`
	Scope      string  `json:"scope"`
	CanisterID *string `json:"canister_id"`
}

func (a *api) refreshCanister(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		a.werr(c, err)
		return
	}
	if _, err := a.d.Store.GetCanister(c.Request.Context(), id); err != nil {
		a.werr(c, err)
		return
	}
	if err := a.d.Bus.RequestRefresh(id); err != nil {
		a.werr(c, registry.WrapError(registry.EUNAVAILABLE, "the bus is unavailable; the poller's next sweep refreshes the canister", err))
		return
	}
	s := string(id)
	c.JSON(http.StatusAccepted, refreshReply{Requested: "refresh", Scope: "canister", CanisterID: &s})
}

func (a *api) refreshAll(c *gin.Context) {
	if err := a.d.Bus.RequestRefresh(""); err != nil {
		a.werr(c, registry.WrapError(registry.EUNAVAILABLE, "the bus is unavailable; the poller's next sweep refreshes everything", err))
		return
	}
	c.JSON(http.StatusAccepted, refreshReply{Requested: "refresh", Scope: "all"})
}

// announcement is the registry event of a canister write: its data is the canister as the
// REST api shows it, and the store logs it in the write's own transaction.
func (a *api) announcement(name string) *store.Announcement {
	now := a.d.Now()
	return &store.Announcement{Name: name, At: now, Data: func(rec registry.CanisterRecord) any {
		return toCanisterJSON(&rec, now.Add(-a.d.StaleAfter))
	}}
}

// publish rings the hubs' doorbell for a logged registry event. The event is already in the
// log: a failed publish only delays it until the hubs' next poll of the log.
func (a *api) publish(c *gin.Context, ann *store.Announcement) {
	if err := a.d.Bus.PublishEvent(ann.Event); err != nil {
		a.d.Logger.Warn("could not publish registry event; notifiers pick it up from the event log", "event", ann.Name,
			"event_id", ann.Event.ID, "path", c.Request.URL.Path, "err", err)
	}
}
