package httpapi

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"canistry/pkg/registry"
)

// listDiscoveryRuns answers GET /discover/sns: the SNS discovery runs, newest first, each with
// what it found, added, updated, kept and skipped.
func (a *api) listDiscoveryRuns(c *gin.Context) {
	q := newQuery(c, "limit", "cursor")
	f := registry.DiscoveryFilter{Source: registry.DiscoverySNS, Page: q.page(true)}
	if q.err != nil {
		a.werr(c, q.err)
		return
	}
	replyPage(a, c, &f.Page, registry.Staleness{}, func(ctx context.Context) (registry.List[registry.DiscoveryRun], error) {
		return a.d.Store.ListDiscoveryRuns(ctx, f)
	}, func(r *registry.DiscoveryRun) registry.DiscoveryRun { return r.Lists() })
}

// discoverReply is the 202 of POST /discover/sns.
type discoverReply struct {
	Requested string `json:"requested"`
	Source    string `json:"source"`
}

// discoverSNS answers POST /discover/sns: it asks a poller for a discovery run now; the run's
// counts appear in GET /discover/sns and as a discovery.completed event.
func (a *api) discoverSNS(c *gin.Context) {
	if err := a.d.Bus.RequestDiscover(registry.DiscoverySNS); err != nil {
		a.werr(c, registry.WrapError(registry.EUNAVAILABLE, "the bus is unavailable; the poller's daily discovery runs as scheduled", err))
		return
	}
	c.JSON(http.StatusAccepted, discoverReply{Requested: "discovery", Source: registry.DiscoverySNS})
}
