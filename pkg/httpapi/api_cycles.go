package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// cyclesPointJSON is one cycles and memory observation.
type cyclesPointJSON struct {
	ObservedAt       string  `json:"observed_at"`
	Source           string  `json:"source"`
	Status           string  `json:"status"`
	Cycles           string  `json:"cycles"`
	MemorySize       string  `json:"memory_size"`
	IdleCyclesPerDay *string `json:"idle_cycles_per_day"`
	RunwayDays       *string `json:"runway_days"`
}

// cyclesReply is GET /canisters/{id}/cycles: the series in [from, to], oldest first.
type cyclesReply struct {
	CanisterID string            `json:"canister_id"`
	From       string            `json:"from"`
	To         string            `json:"to"`
	Series     []cyclesPointJSON `json:"series"`
	NextCursor *string           `json:"next_cursor"`
}

// canisterCycles answers the cycles and memory series the poller reads, each point with its
// source (public status, blackhole or SNS root; from defaults to 24 hours before to, to to now).
func (a *api) canisterCycles(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		a.werr(c, err)
		return
	}
	q := newQuery(c, "from", "to", "limit", "cursor")
	r := q.statsRange(a.d.Now().UTC())
	if q.err != nil {
		a.werr(c, q.err)
		return
	}
	if _, err := a.d.Store.GetCanister(c.Request.Context(), id); err != nil {
		a.werr(c, err)
		return
	}
	page, err := a.d.Store.CyclesRange(c.Request.Context(), id, r)
	if err != nil {
		a.werr(c, err)
		return
	}
	out := cyclesReply{CanisterID: string(id), From: rfc3339(r.From), To: rfc3339(r.To), Series: make([]cyclesPointJSON, len(page.Items))}
	for i := range page.Items {
		s := &page.Items[i]
		out.Series[i] = cyclesPointJSON{ObservedAt: rfc3339(s.ObservedAt), Source: s.Source, Status: s.Status, Cycles: s.Cycles, MemorySize: s.MemorySize,
			IdleCyclesPerDay: optString(s.IdleCyclesPerDay), RunwayDays: optString(s.RunwayDays())}
	}
	if page.Next != nil {
		s := page.Next.String()
		out.NextCursor = &s
	}
	setNextLink(c, out.NextCursor)
	c.JSON(http.StatusOK, out)
}
