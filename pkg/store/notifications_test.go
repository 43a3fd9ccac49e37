package store_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	_ "github.com/glebarez/go-sqlite" // the "sqlite" database/sql driver, to delete rows behind the store's back

	"canistry/pkg/registry"
	"canistry/pkg/store"
)

func openStore(t *testing.T, path string, opts ...store.Option) *store.Store {
	t.Helper()
	s, err := store.Open(t.Context(), path, opts...)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func newNotification(key, hash string, at time.Time) *registry.Notification {
	return &registry.Notification{
		DedupKey: key, MinerID: "ryjl3-tyaaa-aaaaa-aaaba-cai", Event: registry.EventSolutionFound,
		ICTimestamp: 1_700_000_000_123_456_789, Data: json.RawMessage(`{"token_id":"x"}`), BodyHash: hash,
		ReceivedAt: at, ResponseStatus: 200, ResponseBody: []byte(`{"ok":true,"key":"` + key + `"}`),
	}
}

func TestStore_ClaimNotification(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := openStore(t, b.DB(t))
		ctx := t.Context()
		t0 := time.UnixMilli(1_700_000_000_000)
		const window = 5 * time.Minute

		first, err := s.ClaimNotification(ctx, newNotification("k1", "h1", t0), window)
		if err != nil {
			t.Fatal(err)
		}
		if !first.Claimed || first.Notification.ID == 0 || first.Notification.Copies != 1 {
			t.Fatalf("first copy: got %+v, want claimed with copies 1", first)
		}
		if got, want := first.ExpiresAt, t0.Add(window); !got.Equal(want) {
			t.Errorf("expires at %v, want %v", got, want)
		}

		t.Run("Duplicate", func(t *testing.T) {
			dup, err := s.ClaimNotification(ctx, newNotification("k1", "h1", t0.Add(time.Second)), window)
			if err != nil {
				t.Fatal(err)
			}
			if dup.Claimed || dup.Notification.ID != first.Notification.ID {
				t.Fatalf("duplicate: got %+v, want the first notification, not claimed", dup)
			}
			if dup.Notification.Copies != 2 || dup.Notification.Diverged {
				t.Errorf("duplicate: copies %d diverged %v, want 2 false", dup.Notification.Copies, dup.Notification.Diverged)
			}
			if string(dup.Notification.ResponseBody) != string(first.Notification.ResponseBody) {
				t.Errorf("stored response %q, want %q", dup.Notification.ResponseBody, first.Notification.ResponseBody)
			}
		})

		t.Run("Diverged", func(t *testing.T) {
			dup, err := s.ClaimNotification(ctx, newNotification("k1", "other", t0.Add(2*time.Second)), window)
			if err != nil {
				t.Fatal(err)
			}
			if dup.Claimed || dup.Notification.Copies != 3 || !dup.Notification.Diverged {
				t.Errorf("got claimed %v copies %d diverged %v, want false 3 true", dup.Claimed, dup.Notification.Copies, dup.Notification.Diverged)
			}
		})

		t.Run("WindowElapsed", func(t *testing.T) {
			again, err := s.ClaimNotification(ctx, newNotification("k1", "h1", t0.Add(window)), window)
			if err != nil {
				t.Fatal(err)
			}
			if !again.Claimed || again.Notification.ID == first.Notification.ID || again.Notification.Copies != 1 {
				t.Errorf("after the window: got %+v, want a new claimed notification", again)
			}
		})
	})
}

// TestStore_ClaimNotification_TwoWriters runs 34 copies through two Store instances on one file,
// the way two notifier processes share the database: exactly one copy has the effect.
func TestStore_ClaimNotification_TwoWriters(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		path := b.DB(t)
		stores := []*store.Store{openStore(t, path), openStore(t, path)}
		now := time.UnixMilli(1_700_000_000_000)
		const copies = 34
		var mu sync.Mutex
		claimed, ids := 0, map[int64]bool{}
		var wg sync.WaitGroup
		errs := make(chan error, copies)
		for i := range copies {
			wg.Go(func() {
				c, err := stores[i%2].ClaimNotification(t.Context(), newNotification("storm", "h", now), time.Minute)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				defer mu.Unlock()
				ids[c.Notification.ID] = true
				if c.Claimed {
					claimed++
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if claimed != 1 || len(ids) != 1 {
			t.Fatalf("claimed %d times with %d ids, want once with one id", claimed, len(ids))
		}
		n, err := stores[0].NotificationByKey(t.Context(), "storm")
		if err != nil {
			t.Fatal(err)
		}
		if n.Copies != copies {
			t.Errorf("copies %d, want %d", n.Copies, copies)
		}
	})
}

func TestStore_RefuseNotification(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		now := time.UnixMilli(1_700_000_000_000)
		ref := store.Refusal{Status: 429, Body: []byte(`{"error":{"code":"too_many","message":"slow down"}}`)}
		other := store.Refusal{Status: 429, Body: []byte(`{"error":{"code":"too_many","message":"other"}}`)}
		for _, tc := range []struct {
			name string
			// steps run in order on one key; each is checked against want.
			steps []func(s *store.Store) (store.NotificationClaim, error)
			want  []string // "refused", "claimed", "copy"
		}{
			{"RefusedKeyStaysRefusedForEveryCopy", []func(*store.Store) (store.NotificationClaim, error){
				func(s *store.Store) (store.NotificationClaim, error) {
					return s.RefuseNotification(t.Context(), "k", "h", "", ref, now, time.Minute)
				},
				func(s *store.Store) (store.NotificationClaim, error) {
					return s.ClaimNotification(t.Context(), newNotification("k", "h", now.Add(10*time.Second)), 5*time.Minute)
				},
				func(s *store.Store) (store.NotificationClaim, error) {
					return s.RefuseNotification(t.Context(), "k", "h", "", other, now.Add(59*time.Second), time.Minute)
				},
			}, []string{"refused", "refused", "refused"}},
			{"ClaimedKeyIsNeverRefused", []func(*store.Store) (store.NotificationClaim, error){
				func(s *store.Store) (store.NotificationClaim, error) {
					return s.ClaimNotification(t.Context(), newNotification("k", "h", now), 5*time.Minute)
				},
				func(s *store.Store) (store.NotificationClaim, error) {
					return s.RefuseNotification(t.Context(), "k", "h", "", ref, now.Add(time.Second), time.Minute)
				},
			}, []string{"claimed", "copy"}},
			{"RefusalEndsAfterHold", []func(*store.Store) (store.NotificationClaim, error){
				func(s *store.Store) (store.NotificationClaim, error) {
					return s.RefuseNotification(t.Context(), "k", "h", "", ref, now, time.Minute)
				},
				func(s *store.Store) (store.NotificationClaim, error) {
					return s.ClaimNotification(t.Context(), newNotification("k", "h", now.Add(time.Minute)), 5*time.Minute)
				},
			}, []string{"refused", "claimed"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s := openStore(t, b.DB(t))
				for i, step := range tc.steps {
					c, err := step(s)
					if err != nil {
						t.Fatalf("step %d: %v", i, err)
					}
					var got string
					switch {
					case c.Refused:
						got = "refused"
						if c.Notification.ResponseStatus != ref.Status || string(c.Notification.ResponseBody) != string(ref.Body) {
							t.Errorf("step %d: reply %d %s, want the first refusal's", i, c.Notification.ResponseStatus, c.Notification.ResponseBody)
						}
						if c.Notification.ID != 0 || c.Claimed {
							t.Errorf("step %d: a refusal has a stored notification: %+v", i, c)
						}
					case c.Claimed:
						got = "claimed"
					default:
						got = "copy"
						if c.Notification.Copies != 2 {
							t.Errorf("step %d: copies %d, want 2", i, c.Notification.Copies)
						}
					}
					if got != tc.want[i] {
						t.Errorf("step %d: %s, want %s", i, got, tc.want[i])
					}
				}
			})
		}
		t.Run("ExpiredRefusalsAreDeleted", func(t *testing.T) {
			s := openStore(t, b.DB(t))
			if _, err := s.RefuseNotification(t.Context(), "k", "h", "", ref, now, time.Minute); err != nil {
				t.Fatal(err)
			}
			n, err := s.DeleteExpiredClaims(t.Context(), now.Add(time.Minute))
			if err != nil || n != 1 {
				t.Fatalf("deleted %d, %v; want the one refusal", n, err)
			}
		})
	})
}

func TestStore_AddNotificationCopies(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := openStore(t, b.DB(t))
		now := time.UnixMilli(1_700_000_000_000)
		c, err := s.ClaimNotification(t.Context(), newNotification("k", "h", now), time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		batch := []store.NotificationCopies{{ID: c.Notification.ID, Copies: 11}, {ID: c.Notification.ID, Copies: 1, Diverged: true}, {ID: 999, Copies: 3}}
		if err := s.AddNotificationCopies(t.Context(), batch); err != nil {
			t.Fatal(err)
		}
		n, err := s.Notification(t.Context(), c.Notification.ID)
		if err != nil {
			t.Fatal(err)
		}
		if n.Copies != 13 || !n.Diverged {
			t.Errorf("copies %d diverged %v, want 13 true", n.Copies, n.Diverged)
		}
		if _, err := s.Notification(t.Context(), 999); registry.ErrorCode(err) != registry.ENOTFOUND {
			t.Errorf("missing notification: got %v, want not_found", err)
		}
	})
}

func TestStore_DeleteExpiredClaims(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := openStore(t, b.DB(t))
		now := time.UnixMilli(1_700_000_000_000)
		for i, at := range []time.Time{now, now.Add(30 * time.Second), now.Add(2 * time.Minute)} {
			if _, err := s.ClaimNotification(t.Context(), newNotification(fmt.Sprint("k", i), "h", at), time.Minute); err != nil {
				t.Fatal(err)
			}
		}
		n, err := s.DeleteExpiredClaims(t.Context(), now.Add(90*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if n != 2 {
			t.Errorf("deleted %d claims, want 2", n)
		}
		// The log stays, and a deleted claim's key is new again.
		c, err := s.ClaimNotification(t.Context(), newNotification("k0", "h", now.Add(90*time.Second)), time.Minute)
		if err != nil || !c.Claimed {
			t.Errorf("reclaim after expiry: %+v, %v", c, err)
		}
	})
}

func TestStore_ClaimNotifications_Batch(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := openStore(t, b.DB(t))
		now := time.UnixMilli(1_700_000_000_000)
		batch := []*registry.Notification{newNotification("a", "h", now), newNotification("b", "h", now), newNotification("a", "x", now)}
		out, err := s.ClaimNotifications(t.Context(), batch, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if !out[0].Claimed || !out[1].Claimed || out[2].Claimed {
			t.Fatalf("claimed %v %v %v, want true true false", out[0].Claimed, out[1].Claimed, out[2].Claimed)
		}
		if out[2].Notification.ID != out[0].Notification.ID || out[2].Notification.Copies != 2 || !out[2].Notification.Diverged {
			t.Errorf("duplicate in the batch: %+v", out[2].Notification)
		}
	})
}

func TestStore_PruneNotifications(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		now := time.UnixMilli(1_800_000_000_000)
		s := openStore(t, b.DB(t))
		old := now.Add(-48 * time.Hour)
		for _, n := range []struct {
			key    string
			at     time.Time
			window time.Duration
		}{
			{"old-1", old, time.Minute},
			{"old-2", old.Add(time.Second), time.Minute},
			{"old-live-claim", old, 72 * time.Hour}, // its dedup window has not ended: kept
			{"recent", now.Add(-time.Hour), time.Minute},
		} {
			if _, err := s.ClaimNotification(t.Context(), newNotification(n.key, "h", n.at), n.window); err != nil {
				t.Fatal(err)
			}
		}
		for i, want := range []int64{1, 1, 0} { // batches of one, until nothing is left to prune
			n, err := s.PruneNotifications(t.Context(), now, 24*time.Hour, 1)
			if err != nil {
				t.Fatal(err)
			}
			if n != want {
				t.Fatalf("pass %d pruned %d, want %d", i, n, want)
			}
		}
		for key, want := range map[string]bool{"old-1": false, "old-2": false, "old-live-claim": true, "recent": true} {
			_, err := s.NotificationByKey(t.Context(), key)
			if got := err == nil; got != want {
				t.Errorf("%s kept = %v, want %v (err %v)", key, got, want, err)
			}
		}
	})
}
