package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"

	"canistry/pkg/registry"
)

// replyPage answers one page of a list: it asks the store for a total only when the totals
// cache has none for this list and data version, fetches the page (fetch reads *p, which
// cachedTotal has just updated), and writes its items converted by toJSON.
func replyPage[R, J any](a *api, c *gin.Context, p *registry.Page, stale registry.Staleness,
	fetch func(ctx context.Context) (registry.List[R], error), toJSON func(*R) J) {
	key := totalKey(c, stale)
	cached := a.totals.cachedTotal(key, p)
	page, err := fetch(c.Request.Context())
	if err != nil {
		a.werr(c, err)
		return
	}
	list := newList(page.Items, page.Next, a.totals.remember(key, cached, page.Total), p.Limit, toJSON)
	setNextLink(c, list.NextCursor)
	c.JSON(http.StatusOK, list)
}

// setNextLink adds Link: <…>; rel="next" (RFC 8288) when there is a next page: this request's
// path and query with cursor set to next. The reference is relative to the request (no scheme
// or host), so it holds behind any proxy and does not trust a Host header.
func setNextLink(c *gin.Context, next *string) {
	if next == nil {
		return
	}
	q := c.Request.URL.Query()
	q.Set("cursor", *next)
	u := url.URL{Path: c.Request.URL.Path, RawQuery: q.Encode()}
	c.Header("Link", "<"+u.String()+`>; rel="next"`)
}

// replyOne answers GET of one canister-keyed record: the id from the path, ?stale_after=, the
// record from get, written by toJSON with the staleness threshold.
func replyOne[R, J any](a *api, c *gin.Context, get func(ctx context.Context, id registry.CanisterID) (R, error),
	toJSON func(r *R, staleBefore time.Time) J) {
	id, err := pathID(c, "id")
	if err != nil {
		a.werr(c, err)
		return
	}
	q := newQuery(c, "stale_after")
	_, before := q.staleness(a.d.Now(), a.d.StaleAfter)
	if q.err != nil {
		a.werr(c, q.err)
		return
	}
	rec, err := get(c.Request.Context(), id)
	if err != nil {
		a.werr(c, err)
		return
	}
	c.JSON(http.StatusOK, toJSON(&rec, before))
}
