package store_test

import (
	"testing"
	"time"

	"canistry/pkg/internal/testclock"
	"canistry/pkg/registry"
	"canistry/pkg/store"
)

func openWithClock(t *testing.T, b backend) (*store.Store, *testclock.Clock) {
	t.Helper()
	c := testclock.New(time.UnixMilli(1_700_000_000_000))
	s, err := store.Open(t.Context(), b.DB(t), store.WithClock(c.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, c
}

func appendEvents(t *testing.T, s *store.Store, n int) []registry.Event {
	t.Helper()
	var out []registry.Event
	for range n {
		e, err := s.AppendEvent(t.Context(), registry.Event{Event: "solution_found", Data: []byte(`{"block_height":1}`), Timestamp: 1})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func TestStore_Webhooks(t *testing.T) { forEachBackend(t, testWebhooks) }

func testWebhooks(t *testing.T, b backend) {
	t.Run("OK", func(t *testing.T) {
		s, _ := openWithClock(t, b)
		ctx := t.Context()
		before := appendEvents(t, s, 3)
		w, err := s.CreateWebhook(ctx, registry.Webhook{URL: "https://example.com/hook", Secret: "whsec_AAAA",
			Filter: registry.EventFilter{Events: map[string]bool{"b": true, "a": true}, Token: "ryjl3-tyaaa-aaaaa-aaaba-cai"}})
		if err != nil {
			t.Fatal(err)
		}
		if w.ID == 0 || w.State != registry.WebhookActive || w.Cursor != before[2].ID {
			t.Fatalf("created %+v: want an id, active, cursor at the log's head %d", w, before[2].ID)
		}
		got, err := s.GetWebhook(ctx, w.ID)
		if err != nil || !got.Filter.Events["a"] || !got.Filter.Events["b"] || len(got.Filter.Events) != 2 || got.Filter.Token != w.Filter.Token || got.Secret != "whsec_AAAA" {
			t.Fatalf("GetWebhook = %+v, %v", got, err)
		}
		list, err := s.Webhooks(ctx)
		if err != nil || len(list) != 1 || list[0].ID != w.ID {
			t.Fatalf("Webhooks = %+v, %v", list, err)
		}
		if err := s.DeleteWebhook(ctx, w.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetWebhook(ctx, w.ID); registry.ErrorCode(err) != registry.ENOTFOUND {
			t.Fatalf("GetWebhook after delete: %v, want not_found", err)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		s, _ := openWithClock(t, b)
		if err := s.DeleteWebhook(t.Context(), 42); registry.ErrorCode(err) != registry.ENOTFOUND {
			t.Fatalf("DeleteWebhook(42) = %v", err)
		}
		if _, err := s.EnableWebhook(t.Context(), 42); registry.ErrorCode(err) != registry.ENOTFOUND {
			t.Fatalf("EnableWebhook(42) = %v", err)
		}
		if _, err := s.WebhookAttempts(t.Context(), 42, registry.Page{}); registry.ErrorCode(err) != registry.ENOTFOUND {
			t.Fatalf("WebhookAttempts(42) = %v", err)
		}
	})
}

func TestStore_WebhookLease(t *testing.T) { forEachBackend(t, testWebhookLease) }

func testWebhookLease(t *testing.T, b backend) {
	s, clk := openWithClock(t, b)
	ctx := t.Context()
	w, err := s.CreateWebhook(ctx, registry.Webhook{URL: "https://example.com/", Secret: "whsec_AAAA"})
	if err != nil {
		t.Fatal(err)
	}
	evs := appendEvents(t, s, 2)
	if _, ok, err := s.LeaseWebhook(ctx, w.ID, "a", time.Minute); !ok || err != nil {
		t.Fatalf("a takes the free lease: %v, %v", ok, err)
	}
	if _, ok, err := s.LeaseWebhook(ctx, w.ID, "b", time.Minute); ok || err != nil {
		t.Fatalf("b takes a's live lease: %v, %v", ok, err)
	}
	if ids, _ := s.LeasableWebhooks(ctx, "b"); len(ids) != 0 {
		t.Fatalf("leasable for b while a holds it: %v", ids)
	}
	ok1 := registry.WebhookAttempt{WebhookID: w.ID, EventID: evs[0].ID, Event: evs[0].Event, MessageID: "m1", Attempt: 1, At: clk.Now(), Status: 204}
	if err := s.RecordWebhookAttempt(ctx, "b", ok1, store.WebhookOutcome{}); !store.IsLeaseLost(err) {
		t.Fatalf("b records without the lease: %v, want lease lost", err)
	}
	if err := s.RecordWebhookAttempt(ctx, "a", ok1, store.WebhookOutcome{}); err != nil {
		t.Fatal(err)
	}

	clk.Advance(2 * time.Minute) // a's lease expires: its writes are refused, b takes over
	fail := registry.WebhookAttempt{WebhookID: w.ID, EventID: evs[1].ID, Event: evs[1].Event, MessageID: "m2", Attempt: 1, At: clk.Now(), Error: "HTTP 500", Status: 500}
	if err := s.RecordWebhookAttempt(ctx, "a", fail, store.WebhookOutcome{NextAttemptAt: clk.Now()}); !store.IsLeaseLost(err) {
		t.Fatalf("a records after its lease expired: %v, want lease lost", err)
	}
	got, ok, err := s.LeaseWebhook(ctx, w.ID, "b", time.Minute)
	if !ok || err != nil || got.Cursor != evs[0].ID || got.Delivered != 1 {
		t.Fatalf("b takes the expired lease: %+v %v %v; want cursor %d, 1 delivered", got, ok, err, evs[0].ID)
	}
	next := clk.Now().Add(time.Second)
	if err := s.RecordWebhookAttempt(ctx, "b", fail, store.WebhookOutcome{NextAttemptAt: next}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.GetWebhook(ctx, w.ID)
	if got.Cursor != evs[0].ID || got.Attempts != 1 || got.NextAttemptAt == nil || !got.NextAttemptAt.Equal(next) || got.LastError != "HTTP 500" {
		t.Fatalf("after a failed attempt: %+v", got)
	}
	fail.Attempt = 2
	if err := s.RecordWebhookAttempt(ctx, "b", fail, store.WebhookOutcome{Failing: true}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.GetWebhook(ctx, w.ID)
	if got.State != registry.WebhookFailing || got.FailingSince == nil || got.Attempts != 2 {
		t.Fatalf("after the budget: %+v, want failing", got)
	}
	if _, ok, _ := s.LeaseWebhook(ctx, w.ID, "b", time.Minute); ok {
		t.Fatal("a failing endpoint was leased")
	}
	if got, err = s.EnableWebhook(ctx, w.ID); err != nil || got.State != registry.WebhookActive || got.Attempts != 0 || got.Cursor != evs[0].ID {
		t.Fatalf("EnableWebhook = %+v, %v", got, err)
	}
	page, err := s.WebhookAttempts(ctx, w.ID, registry.Page{Limit: 2})
	if err != nil || len(page.Items) != 2 || page.Items[0].Attempt != 2 || page.Items[1].Attempt != 1 || page.Next == nil {
		t.Fatalf("attempt log page 1: %+v, %v", page, err)
	}
	page, err = s.WebhookAttempts(ctx, w.ID, registry.Page{Limit: 2, After: page.Next.Key})
	if err != nil || len(page.Items) != 1 || !page.Items[0].OK() || page.Next != nil {
		t.Fatalf("attempt log page 2: %+v, %v", page, err)
	}
}

func TestStore_WebhookAttemptsBounded(t *testing.T) { forEachBackend(t, testWebhookAttemptsBounded) }

func testWebhookAttemptsBounded(t *testing.T, b backend) {
	s, clk := openWithClock(t, b)
	ctx := t.Context()
	w, err := s.CreateWebhook(ctx, registry.Webhook{URL: "https://example.com/", Secret: "whsec_AAAA"})
	if err != nil {
		t.Fatal(err)
	}
	ev := appendEvents(t, s, 1)[0]
	if _, ok, err := s.LeaseWebhook(ctx, w.ID, "a", time.Hour); !ok || err != nil {
		t.Fatal(ok, err)
	}
	total := store.WebhookAttemptsKept + 250
	for i := 1; i <= total; i++ {
		a := registry.WebhookAttempt{WebhookID: w.ID, EventID: ev.ID, Event: ev.Event, MessageID: "m", Attempt: i, At: clk.Now(), Error: "HTTP 503", Status: 503}
		if err := s.RecordWebhookAttempt(ctx, "a", a, store.WebhookOutcome{NextAttemptAt: clk.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	var p registry.Page
	p.Limit = registry.MaxPageLimit
	for {
		page, err := s.WebhookAttempts(ctx, w.ID, p)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 && page.Items[0].Attempt != total {
			t.Fatalf("newest attempt is %d, want %d", page.Items[0].Attempt, total)
		}
		n += len(page.Items)
		if page.Next == nil {
			break
		}
		p.After = page.Next.Key
	}
	if n < store.WebhookAttemptsKept || n > store.WebhookAttemptsKept+100 {
		t.Fatalf("%d attempts kept after %d, want %d to %d", n, total, store.WebhookAttemptsKept, store.WebhookAttemptsKept+100)
	}
}
