package httpapi

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"canistry/pkg/registry"
	"canistry/pkg/store"
)

// Webhooks (admin only, reads included: an endpoint's URL may carry a token of its owner).
// The notifier's worker (pkg/webhook) delivers; the api only manages the endpoints.

// maxWebhookEvents and maxWebhookDescription bound a webhook's body.
const (
	maxWebhookEvents      = 64
	maxWebhookDescription = 200
)

// mountWebhooks adds the webhook routes, every one behind admin.
func mountWebhooks(r gin.IRoutes, a *api, admin gin.HandlerFunc) {
	r.POST("/webhooks", admin, a.createWebhook)
	r.GET("/webhooks", admin, a.listWebhooks)
	r.GET("/webhooks/:id", admin, a.getWebhook)
	r.DELETE("/webhooks/:id", admin, a.deleteWebhook)
	r.POST("/webhooks/:id/enable", admin, a.enableWebhook)
	r.GET("/webhooks/:id/deliveries", admin, a.webhookDeliveries)
}

// webhookBody is the body of POST /webhooks.
type webhookBody struct {
	URL         string   `json:"url"`
	Events      []string `json:"events"`
	Token       string   `json:"token"`
	Miner       string   `json:"miner"`
	Description string   `json:"description"`
}

// webhookJSON is an endpoint as listed; Secret only in the reply to its creation.
type webhookJSON struct {
	ID            int64    `json:"id"`
	URL           string   `json:"url"`
	Events        []string `json:"events"`
	Token         *string  `json:"token"`
	Miner         *string  `json:"miner"`
	Description   string   `json:"description"`
	Secret        string   `json:"secret,omitempty"`
	CreatedAt     string   `json:"created_at"`
	State         string   `json:"state"`
	Cursor        int64    `json:"cursor"`
	Delivered     int64    `json:"delivered"`
	Attempts      int      `json:"attempts"`
	NextAttemptAt *string  `json:"next_attempt_at"`
	LastError     *string  `json:"last_error"`
	FailingSince  *string  `json:"failing_since"`
}

func toWebhookJSON(w *registry.Webhook) webhookJSON {
	events := make([]string, 0, len(w.Filter.Events))
	for e := range w.Filter.Events {
		events = append(events, e)
	}
	slices.Sort(events)
	return webhookJSON{ID: w.ID, URL: w.URL, Events: events, Token: optString(w.Filter.Token), Miner: optString(w.Filter.Miner),
		Description: w.Description, CreatedAt: rfc3339(w.CreatedAt), State: w.State, Cursor: w.Cursor, Delivered: w.Delivered,
		Attempts: w.Attempts, NextAttemptAt: optTime(w.NextAttemptAt), LastError: optString(w.LastError), FailingSince: optTime(w.FailingSince)}
}

// attemptJSON is one entry of GET /webhooks/{id}/deliveries.
type attemptJSON struct {
	ID         int64   `json:"id"`
	EventID    int64   `json:"event_id"`
	Event      string  `json:"event"`
	WebhookID  string  `json:"webhook_id"`
	Attempt    int     `json:"attempt"`
	At         string  `json:"at"`
	OK         bool    `json:"ok"`
	Status     *int    `json:"status"`
	DurationMs int64   `json:"duration_ms"`
	Error      *string `json:"error"`
	Response   string  `json:"response"`
}

func toAttemptJSON(a *registry.WebhookAttempt) attemptJSON {
	out := attemptJSON{ID: a.ID, EventID: a.EventID, Event: a.Event, WebhookID: a.MessageID, Attempt: a.Attempt, At: rfc3339(a.At),
		OK: a.OK(), DurationMs: a.Duration.Milliseconds(), Error: optString(a.Error), Response: a.Response}
	if a.Status != 0 {
		s := a.Status
		out.Status = &s
	}
	return out
}

// parseWebhook validates a POST /webhooks body into an endpoint (without its secret).
func parseWebhook(b webhookBody, localDev bool) (registry.Webhook, error) {
	if err := registry.ValidateWebhookURL(b.URL, localDev); err != nil {
		return registry.Webhook{}, err
	}
	w := registry.Webhook{URL: b.URL, Description: b.Description}
	if b.Events != nil {
		if len(b.Events) == 0 || len(b.Events) > maxWebhookEvents {
			return w, registry.Errorf(registry.EINVALID, "events must list 1 to %d event names, or be left out for every event", maxWebhookEvents)
		}
		w.Filter.Events = map[string]bool{}
		for _, e := range b.Events {
			if !registry.ValidEventName(e) {
				return w, registry.Errorf(registry.EINVALID,
					"events: %.80q is not an event name (dot-separated words of letters, digits, '_' and '-', at most %d characters)", e, registry.MaxEventLen)
			}
			w.Filter.Events[e] = true
		}
	}
	for _, p := range []struct {
		name, v string
		to      *string
	}{{"miner", b.Miner, &w.Filter.Miner}, {"token", b.Token, &w.Filter.Token}} {
		if p.v == "" {
			continue
		}
		id, err := registry.ParseCanisterID(p.v)
		if err != nil {
			return w, registry.Errorf(registry.EINVALID, "%s: %s", p.name, registry.ErrorMessage(err))
		}
		*p.to = string(id)
	}
	if utf8.RuneCountInString(b.Description) > maxWebhookDescription {
		return w, registry.Errorf(registry.EINVALID, "description is longer than %d characters", maxWebhookDescription)
	}
	return w, nil
}

func (a *api) createWebhook(c *gin.Context) {
	var body webhookBody
	if err := decodeJSON(c, &body); err != nil {
		a.werr(c, err)
		return
	}
	w, err := parseWebhook(body, a.d.LocalDev)
	if err != nil {
		a.werr(c, err)
		return
	}
	if w.Secret, err = registry.NewWebhookSecret(); err != nil {
		a.werr(c, err)
		return
	}
	created, err := a.d.Store.CreateWebhook(c.Request.Context(), w)
	if err != nil {
		a.werr(c, err)
		return
	}
	out := toWebhookJSON(&created)
	out.Secret = created.Secret // shown once
	c.Header("Location", "/webhooks/"+strconv.FormatInt(created.ID, 10))
	c.JSON(http.StatusCreated, out)
}

func (a *api) listWebhooks(c *gin.Context) {
	if q := newQuery(c); q.err != nil {
		a.werr(c, q.err)
		return
	}
	hooks, err := a.d.Store.Webhooks(c.Request.Context())
	if err != nil {
		a.werr(c, err)
		return
	}
	c.JSON(http.StatusOK, newList(hooks, nil, nil, store.MaxWebhooks, toWebhookJSON))
}

// webhookID parses the id path parameter.
func webhookID(c *gin.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 || c.Param("id")[0] == '+' {
		return 0, registry.Errorf(registry.EINVALID, "webhook id must be a whole number ≥ 1, not %.40q", c.Param("id"))
	}
	return id, nil
}

// oneWebhook answers a route on one endpoint with the endpoint do returns.
func (a *api) oneWebhook(c *gin.Context, do func(ctx context.Context, id int64) (registry.Webhook, error)) {
	id, err := webhookID(c)
	if err == nil {
		err = newQuery(c).err
	}
	if err != nil {
		a.werr(c, err)
		return
	}
	w, err := do(c.Request.Context(), id)
	if err != nil {
		a.werr(c, err)
		return
	}
	c.JSON(http.StatusOK, toWebhookJSON(&w))
}

func (a *api) getWebhook(c *gin.Context) { a.oneWebhook(c, a.d.Store.GetWebhook) }

// enableWebhook resumes a failing endpoint with a fresh retry budget (the notifier's worker
// picks it up at its next poll).
func (a *api) enableWebhook(c *gin.Context) { a.oneWebhook(c, a.d.Store.EnableWebhook) }

func (a *api) deleteWebhook(c *gin.Context) {
	id, err := webhookID(c)
	if err == nil {
		err = newQuery(c).err
	}
	if err == nil {
		err = a.d.Store.DeleteWebhook(c.Request.Context(), id)
	}
	if err != nil {
		a.werr(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (a *api) webhookDeliveries(c *gin.Context) {
	id, err := webhookID(c)
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
	page, err := a.d.Store.WebhookAttempts(c.Request.Context(), id, p)
	if err != nil {
		a.werr(c, err)
		return
	}
	list := newList(page.Items, page.Next, nil, p.Limit, toAttemptJSON)
	setNextLink(c, list.NextCursor)
	c.JSON(http.StatusOK, list)
}

// statusWebhooks is the webhooks part of GET /system/status: counts for everyone, the failing
// endpoints (id, url, error) only in the admin detail.
type statusWebhooks struct {
	Total     int                 `json:"total"`
	Failing   int                 `json:"failing"`
	Endpoints []statusFailingHook `json:"failing_endpoints,omitempty"`
}

type statusFailingHook struct {
	ID           int64   `json:"id"`
	URL          string  `json:"url"`
	LastError    string  `json:"last_error"`
	FailingSince *string `json:"failing_since"`
}

func webhookStatus(ctx context.Context, st *store.Store, detail bool) (statusWebhooks, error) {
	hooks, err := st.Webhooks(ctx)
	if err != nil {
		return statusWebhooks{}, err
	}
	out := statusWebhooks{Total: len(hooks)}
	for i := range hooks {
		h := &hooks[i]
		if h.State != registry.WebhookFailing {
			continue
		}
		out.Failing++
		if detail {
			out.Endpoints = append(out.Endpoints, statusFailingHook{ID: h.ID, URL: h.URL, LastError: h.LastError, FailingSince: optTime(h.FailingSince)})
		}
	}
	return out, nil
}
