package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"canistry/pkg/eventlog"
	"canistry/pkg/registry"
	"canistry/pkg/store"
	"canistry/pkg/version"
)

// maxSnippet is how much of a reply body the attempt log keeps.
const maxSnippet = 512

// maxErrorLen caps an attempt's error text.
const maxErrorLen = 300

// errFailing ends an endpoint's loop when its retry budget ran out.
var errFailing = errors.New("webhook marked failing")

// MessageID is the webhook-id of an event sent to an endpoint: the same on every attempt (so a
// receiver deduplicates on it), different for each endpoint and for each log (epoch).
func MessageID(epoch string, webhookID, eventID int64) string {
	return "msg_" + epoch + "_" + strconv.FormatInt(webhookID, 10) + "_" + strconv.FormatInt(eventID, 10)
}

// Backoff is the wait before retry n (1 for the first retry): base·2ⁿ⁻¹, ±25 % jitter.
func Backoff(base time.Duration, n int) time.Duration {
	d := base << min(max(n-1, 0), 30)
	return d*3/4 + rand.N(d/2+1)
}

// endpoint is the delivery loop of one endpoint while this worker holds its lease.
type endpoint struct {
	w    *Worker
	id   int64
	tail atomic.Pointer[eventlog.Tailer]
}

func newEndpoint(w *Worker, id int64) *endpoint { return &endpoint{w: w, id: id} }

// wake rings the endpoint's tailer, if it runs. It never blocks.
func (ep *endpoint) wake() {
	if t := ep.tail.Load(); t != nil {
		t.Wake()
	}
}

// run takes the lease and delivers until the context ends, the lease is lost, the endpoint
// turns failing or a write of its state fails; then it gives the lease up.
func (ep *endpoint) run(parent context.Context) {
	cfg := &ep.w.cfg
	hook, ok, err := cfg.Store.LeaseWebhook(parent, ep.id, cfg.Owner, cfg.Lease)
	if err != nil && parent.Err() == nil {
		cfg.Logger.Warn("take a webhook's lease; retrying at the next poll", "webhook", ep.id, "err", err)
	}
	if !ok {
		return
	}
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	renewed := make(chan struct{})
	go func() { defer close(renewed); ep.renew(ctx, cancel) }()

	events := make(chan registry.Event, 256)
	tail, err := eventlog.New(eventlog.Config{
		Read: func(ctx context.Context, after int64, limit int) ([]registry.Event, error) {
			return cfg.Store.Events(ctx, after, 0, limit)
		},
		Deliver: func(evs []registry.Event) {
			for _, e := range evs {
				select {
				case events <- e:
				case <-ctx.Done():
					return
				}
			}
		},
		From: hook.Cursor, Poll: cfg.Poll, HoldBack: cfg.HoldBack, Logger: cfg.Logger})
	if err == nil {
		ep.tail.Store(tail)
		err = ep.deliverAll(ctx, &hook, events)
	}
	cancel()
	if tail != nil {
		_ = tail.Close(context.Background()) // its Deliver returns once ctx is done
	}
	<-renewed
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, errFailing) && !store.IsLeaseLost(err) {
		cfg.Logger.Warn("webhook delivery stopped; resuming at the next poll", "webhook", ep.id, "err", err)
	}
	rctx, rcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer rcancel()
	if err := cfg.Store.ReleaseWebhook(rctx, ep.id, cfg.Owner); err != nil {
		cfg.Logger.Warn("release a webhook's lease (it expires by itself)", "webhook", ep.id, "err", err)
	}
}

// renew extends the lease every Lease/3 and cancels the loop when it is no longer ours.
func (ep *endpoint) renew(ctx context.Context, cancel context.CancelFunc) {
	cfg := &ep.w.cfg
	t := time.NewTicker(cfg.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		_, ok, err := cfg.Store.LeaseWebhook(ctx, ep.id, cfg.Owner, cfg.Lease)
		switch {
		case err != nil && ctx.Err() == nil:
			cfg.Logger.Warn("renew a webhook's lease; retrying", "webhook", ep.id, "err", err)
		case err == nil && !ok:
			cancel() // taken over, failing or deleted
			return
		}
	}
}

// deliverAll sends the events its filter passes, in order. Events it skips move the cursor
// when nothing more is queued (a delivery moves it past them anyway).
func (ep *endpoint) deliverAll(ctx context.Context, hook *registry.Webhook, events <-chan registry.Event) error {
	cfg := &ep.w.cfg
	attempts, next := hook.Attempts, hook.NextAttemptAt // retry state of the first event to send
	for {
		var e registry.Event
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e = <-events:
		}
		keys := registry.KeysOf(e)
		if !hook.Filter.Match(&keys) {
			if len(events) == 0 {
				if err := cfg.Store.SkipWebhookEvents(ctx, hook.ID, cfg.Owner, e.ID); err != nil {
					return err
				}
			}
			continue
		}
		if err := ep.deliver(ctx, hook, e, attempts, next); err != nil {
			return err
		}
		attempts, next = 0, nil
	}
}

// deliver sends e until a 2xx reply, waiting Backoff between attempts; after Retries retries
// it marks the endpoint failing. attempts and next are the event's retry state so far.
func (ep *endpoint) deliver(ctx context.Context, hook *registry.Webhook, e registry.Event, attempts int, next *time.Time) error {
	cfg := &ep.w.cfg
	body, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode event %d: %w", e.ID, err)
	}
	body = bytes.ToValidUTF8(body, []byte("\uFFFD")) // as /ws sends it
	msgID := MessageID(cfg.Store.Epoch(), hook.ID, e.ID)
	for {
		if next != nil {
			if err := sleepUntil(ctx, next.Sub(cfg.Now())); err != nil {
				return err
			}
		}
		attempts++
		a := ep.send(ctx, hook, msgID, body)
		if ctx.Err() != nil && !a.OK() {
			return ctx.Err() // failed while stopping: left to the next worker, not counted
		}
		a.EventID, a.Event, a.Attempt = e.ID, e.Event, attempts
		var o store.WebhookOutcome
		if !a.OK() {
			if attempts > cfg.Retries {
				o.Failing = true
			} else {
				t := cfg.Now().Add(Backoff(cfg.RetryBase, attempts))
				o.NextAttemptAt, next = t, &t
			}
		}
		// Recorded even when shutdown began meanwhile: a delivered event must move the cursor,
		// or the next worker sends it again.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		err := cfg.Store.RecordWebhookAttempt(rctx, cfg.Owner, a, o)
		cancel()
		if err != nil {
			return err
		}
		if a.OK() {
			ep.w.delivered.Add(1)
			return nil
		}
		ep.w.failed.Add(1)
		if o.Failing {
			ep.w.failing.Add(1)
			cfg.Logger.Warn("webhook failing: retry budget spent; POST /webhooks/{id}/enable resumes it",
				"webhook", hook.ID, "event", e.ID, "attempts", attempts, "err", a.Error)
			return errFailing
		}
	}
}

// send makes one attempt.
func (ep *endpoint) send(ctx context.Context, hook *registry.Webhook, msgID string, body []byte) registry.WebhookAttempt {
	cfg := &ep.w.cfg
	start := cfg.Now()
	a := registry.WebhookAttempt{WebhookID: hook.ID, MessageID: msgID, At: start}
	defer func() { a.Duration = cfg.Now().Sub(start) }()
	sig, err := Sign(hook.Secret, msgID, start.Unix(), body)
	if err != nil {
		a.Error = err.Error()
		return a
	}
	// An attempt in flight is not cut off by shutdown (Client.Timeout bounds it): if the
	// receiver took the event, the cursor must move, or the next worker sends it again.
	req, err := http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodPost, hook.URL, bytes.NewReader(body))
	if err != nil {
		a.Error = cut(err.Error(), maxErrorLen)
		return a
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "canistry-webhooks/"+version.Version)
	h.Set("webhook-id", msgID)
	h.Set("webhook-timestamp", strconv.FormatInt(start.Unix(), 10))
	h.Set("webhook-signature", sig)
	resp, err := cfg.Client.Do(req)
	if err != nil {
		a.Error = cut(err.Error(), maxErrorLen)
		return a
	}
	reply, readErr := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes))
	_ = resp.Body.Close()
	a.Status, a.Response = resp.StatusCode, cut(string(reply), maxSnippet)
	switch {
	case a.OK():
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		a.Error = cut(fmt.Sprintf("HTTP %d: redirects are not followed (Location: %s)", resp.StatusCode, resp.Header.Get("Location")), maxErrorLen)
	default:
		a.Error = fmt.Sprintf("HTTP %d", resp.StatusCode)
	}
	if readErr != nil && a.OK() {
		a.Error = "" // the reply's status decides; a body cut short does not undo a 2xx
	}
	return a
}

// cut shortens s to at most n bytes on a rune boundary, as valid UTF-8.
func cut(s string, n int) string {
	s = string(bytes.ToValidUTF8([]byte(s), []byte("\uFFFD")))
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func sleepUntil(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
