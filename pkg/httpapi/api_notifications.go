package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"canistry/pkg/registry"
)

// notificationJSON is one outcall of the log as listed.
type notificationJSON struct {
	ID             int64           `json:"id"`
	MinerID        string          `json:"miner_id"`
	Event          string          `json:"event"`
	ICTimestamp    string          `json:"ic_timestamp"`
	Data           json.RawMessage `json:"data"`
	ReceivedAt     string          `json:"received_at"`
	Copies         int             `json:"copies"`
	Diverged       bool            `json:"diverged"`
	ResponseStatus int             `json:"response_status"`
}

// notificationDetailJSON adds what GET /notifications/{id} shows: the dedup key, the first
// copy's body hash, the reply every copy was given, and the forensics of its copies.
type notificationDetailJSON struct {
	notificationJSON
	DedupKey     string `json:"dedup_key"`
	BodyHash     string `json:"body_hash"`
	ResponseBody string `json:"response_body"`
	copiesJSON
}

func toNotificationJSON(n *registry.Notification) notificationJSON {
	data := n.Data
	if !json.Valid(data) {
		data = json.RawMessage(`{}`)
	}
	return notificationJSON{ID: n.ID, MinerID: n.MinerID, Event: n.Event, ICTimestamp: strconv.FormatUint(n.ICTimestamp, 10),
		Data: data, ReceivedAt: rfc3339(n.ReceivedAt), Copies: n.Copies, Diverged: n.Diverged, ResponseStatus: n.ResponseStatus}
}

func (a *api) listNotifications(c *gin.Context) {
	q := newQuery(c, "limit", "cursor", "order", "miner", "event", "token", "from", "to")
	f := registry.NotificationFilter{Miner: string(q.canisterID("miner")), Event: q.eventName("event"),
		Token: string(q.canisterID("token")), From: q.time("from", time.Time{}), To: q.time("to", time.Time{}),
		Page: q.page(c.Query("order") != "asc")} // newest first unless order=asc
	if !f.From.IsZero() && !f.To.IsZero() && f.To.Before(f.From) {
		q.fail("to is before from")
	}
	if q.err != nil {
		a.werr(c, q.err)
		return
	}
	replyPage(a, c, &f.Page, registry.Staleness{}, func(ctx context.Context) (registry.List[registry.Notification], error) {
		return a.d.Store.ListNotifications(ctx, f)
	}, toNotificationJSON)
}

func (a *api) getNotification(c *gin.Context) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 {
		a.werr(c, registry.Errorf(registry.EINVALID, "notification id must be a positive whole number, not %.40q", c.Param("id")))
		return
	}
	if q := newQuery(c); q.err != nil {
		a.werr(c, q.err)
		return
	}
	n, err := a.d.Store.Notification(c.Request.Context(), id)
	if err != nil {
		a.werr(c, err)
		return
	}
	f, err := a.d.Store.NotificationForensics(c.Request.Context(), id)
	if err != nil {
		a.werr(c, err)
		return
	}
	body := string(n.ResponseBody)
	if !utf8.ValidString(body) {
		body = strings.ToValidUTF8(body, "\uFFFD")
	}
	c.JSON(http.StatusOK, notificationDetailJSON{notificationJSON: toNotificationJSON(&n), DedupKey: n.DedupKey,
		BodyHash: n.BodyHash, ResponseBody: body, copiesJSON: toCopiesJSON(&f)})
}

// eventName reads an event name: 1 to 64 letters, digits, '_', '-' or '.', as the intake
// accepts them.
func (q *query) eventName(name string) string {
	v, ok := q.c.GetQuery(name)
	if !ok {
		return ""
	}
	if v == "" || len(v) > 64 || strings.ContainsFunc(v, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.')
	}) {
		q.fail("%s must be an event name of 1 to 64 letters, digits, '_', '-' or '.', not %.70q", name, v)
		return ""
	}
	return v
}
