package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"canistry/pkg/registry"
)

// The routes of what the poller observed: tokens, miners and miner stats.

func (a *api) listTokens(c *gin.Context) {
	q := newQuery(c, "limit", "cursor", "order", "stale", "stale_after", "q")
	f := registry.TokenFilter{Query: q.str("q", registry.MaxQueryLen), Page: q.page(false)}
	stale, before := q.staleness(a.d.Now(), a.d.StaleAfter)
	f.Stale = stale
	if q.err != nil {
		a.werr(c, q.err)
		return
	}
	replyPage(a, c, &f.Page, f.Stale, func(ctx context.Context) (registry.List[registry.TokenRecord], error) {
		return a.d.Store.ListTokens(ctx, f)
	}, func(t *registry.TokenRecord) tokenJSON { return toTokenJSON(t, before) })
}

func (a *api) getToken(c *gin.Context) {
	replyOne(a, c, a.d.Store.GetToken, toTokenJSON)
}

func (a *api) listMiners(c *gin.Context) {
	q := newQuery(c, "limit", "cursor", "order", "token", "mining", "stale", "stale_after", "q")
	f := registry.MinerFilter{Token: q.canisterID("token"), Mining: q.boolean("mining"),
		Query: q.str("q", registry.MaxQueryLen), Page: q.page(false)}
	a.miners(c, q, f)
}

func (a *api) minersByToken(c *gin.Context) {
	token, err := pathID(c, "token_id")
	if err != nil {
		a.werr(c, err)
		return
	}
	q := newQuery(c, "limit", "cursor", "order", "mining", "stale", "stale_after", "q")
	f := registry.MinerFilter{Token: token, Mining: q.boolean("mining"), Query: q.str("q", registry.MaxQueryLen), Page: q.page(false)}
	a.miners(c, q, f)
}

func (a *api) miners(c *gin.Context, q *query, f registry.MinerFilter) {
	stale, before := q.staleness(a.d.Now(), a.d.StaleAfter)
	f.Stale = stale
	if q.err != nil {
		a.werr(c, q.err)
		return
	}
	replyPage(a, c, &f.Page, f.Stale, func(ctx context.Context) (registry.List[registry.MinerRecord], error) {
		return a.d.Store.ListMiners(ctx, f)
	}, func(m *registry.MinerRecord) minerJSON { return toMinerJSON(m, before) })
}

func (a *api) getMiner(c *gin.Context) {
	replyOne(a, c, a.d.Store.GetMiner, toMinerJSON)
}

// statsReply is the body of GET /miners/{id}/stats: the latest observation, and with from or
// to the series in [from, to], oldest first and paged.
type statsReply struct {
	CanisterID string       `json:"canister_id"`
	Latest     *statsJSON   `json:"latest"`
	From       *time.Time   `json:"from,omitempty"`
	To         *time.Time   `json:"to,omitempty"`
	Series     *[]statsJSON `json:"series,omitempty"`
	NextCursor *string      `json:"next_cursor,omitempty"`
}

// MaxStatsRange bounds the time span of one stats series request.
const MaxStatsRange = 366 * 24 * time.Hour

// statsRange reads a series' from, to (to defaults to now, from to 24 hours before to) and
// page, and checks that from is not after to and that they are at most MaxStatsRange apart.
func (q *query) statsRange(now time.Time) registry.StatsRange {
	r := registry.StatsRange{To: q.time("to", now), Page: q.page(false)}
	r.From = q.time("from", r.To.Add(-24*time.Hour))
	switch {
	case q.err != nil:
	case r.From.After(r.To):
		q.fail("from is after to")
	case r.To.Sub(r.From) > MaxStatsRange:
		q.fail("from and to may be at most %s apart", MaxStatsRange)
	}
	return r
}

func (a *api) minerStats(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		a.werr(c, err)
		return
	}
	q := newQuery(c, "from", "to", "limit", "cursor")
	_, hasFrom := c.GetQuery("from")
	_, hasTo := c.GetQuery("to")
	series := hasFrom || hasTo
	// Without from and to the range is the default one, always valid: the paging check below
	// can come after statsRange's without changing which error a request gets.
	r := q.statsRange(a.d.Now().UTC())
	if !series && (c.Query("limit") != "" || c.Query("cursor") != "") {
		q.fail("limit and cursor page the series: give from and/or to")
	}
	if q.err != nil {
		a.werr(c, q.err)
		return
	}
	if _, err := a.d.Store.GetCanister(c.Request.Context(), id); err != nil {
		a.werr(c, err)
		return
	}
	latest, err := a.d.Store.LatestMinerStats(c.Request.Context(), id)
	if err != nil {
		a.werr(c, err)
		return
	}
	out := statsReply{CanisterID: string(id)}
	if latest != nil {
		j := toStatsJSON(latest)
		out.Latest = &j
	}
	if series {
		page, err := a.d.Store.MinerStatsRange(c.Request.Context(), id, r)
		if err != nil {
			a.werr(c, err)
			return
		}
		out.From, out.To = &r.From, &r.To
		points := make([]statsJSON, len(page.Items))
		for i := range page.Items {
			points[i] = toStatsJSON(&page.Items[i])
		}
		out.Series = &points
		if page.Next != nil {
			s := page.Next.String()
			out.NextCursor = &s
		}
	}
	setNextLink(c, out.NextCursor)
	c.JSON(http.StatusOK, out)
}
