package webhook_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"canistry/pkg/lifecycle/runtest"
	"canistry/pkg/registry"
	"canistry/pkg/webhook"
)

// TestWorker_AttemptLog: what each attempt got is logged (status, error, the start of the
// reply); a 503 and a redirect (not followed) are failures, a 200 with a 1 MiB body delivers
// the event and only the start of the body is kept.
func TestWorker_AttemptLog(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n.Add(1) {
		case 1:
			http.Error(w, "busy, try later", http.StatusServiceUnavailable)
		case 2:
			http.Redirect(w, r, "https://elsewhere.example/", http.StatusFound)
		default:
			_, _ = w.Write([]byte(strings.Repeat("x", 1<<20)))
		}
	}))
	t.Cleanup(srv.Close)
	s := newStore(t)
	hook := createWebhook(t, s, srv.URL, registry.EventFilter{})
	w := startWorker(t, webhook.Config{Store: s, Owner: "test", LocalDev: true, RetryBase: time.Millisecond, Poll: 10 * time.Millisecond})
	ev := logEvents(t, s, 1, "")[0]
	w.Wake()
	runtest.WaitFor(t, "the event delivered", func() bool {
		h, err := s.GetWebhook(t.Context(), hook.ID)
		return err == nil && h.Cursor == ev.ID
	})
	page, err := s.WebhookAttempts(t.Context(), hook.ID, registry.Page{})
	if err != nil || len(page.Items) != 3 {
		t.Fatalf("attempts %+v, %v; want 3", page.Items, err)
	}
	got := page.Items // newest first
	if a := got[2]; a.Attempt != 1 || a.Status != 503 || a.Error != "HTTP 503" || !strings.HasPrefix(a.Response, "busy, try later") {
		t.Errorf("attempt 1: %+v", a)
	}
	if a := got[1]; a.Attempt != 2 || a.Status != 302 || !strings.Contains(a.Error, "not followed (Location: https://elsewhere.example/)") {
		t.Errorf("attempt 2: %+v", a)
	}
	if a := got[0]; a.Attempt != 3 || !a.OK() || a.Error != "" || len(a.Response) != 512 {
		t.Errorf("attempt 3: status %d, error %q, %d bytes of reply kept", a.Status, a.Error, len(a.Response))
	}
	for _, a := range got {
		if a.MessageID != webhook.MessageID(s.Epoch(), hook.ID, ev.ID) || a.EventID != ev.ID {
			t.Errorf("attempt %d: webhook-id %q, event %d", a.Attempt, a.MessageID, a.EventID)
		}
	}
}
