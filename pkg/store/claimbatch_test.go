package store_test

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"canistry/pkg/registry"
	"canistry/pkg/store"
)

// TestStore_ClaimBatch_EqualsOneByOne: a batch written by the multi-row statements (claimBatch)
// has exactly the outcomes, rows, forensics and event ids of the same notifications claimed one
// at a time, on a database holding a live claim, an expired claim and a live refusal; and the
// events' ids ascend in batch order.
func TestStore_ClaimBatch_EqualsOneByOne(t *testing.T) {
	t0 := time.UnixMilli(1_700_000_000_000)
	at := t0.Add(90 * time.Second)
	cases := []struct {
		name string
		keys []string // "live": claimed and live; "old": claimed, expired; "ref": refused
		want string   // per key: C claimed, D a copy of a claimed key, R refused
	}{
		{"all new", []string{"a", "b", "c"}, "CCC"},
		{"one", []string{"a"}, "C"},
		{"mixed", []string{"a", "live", "old", "ref", "a", "b", "old", "c", "live"}, "CDCRDCDCD"},
		{"only copies and refusals", []string{"live", "ref", "live"}, "DRD"},
	}
	forEachBackend(t, func(t *testing.T, b backend) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				batched, single := seededStore(t, b, t0), seededStore(t, b, t0)
				ns := func() []*registry.Notification {
					var out []*registry.Notification
					for i, k := range tc.keys {
						n := newNotification(k, []string{"h", "x"}[i%2], at.Add(time.Duration(i)*time.Millisecond))
						n.Source = "192.0.2.7"
						out = append(out, n)
					}
					return out
				}
				got, err := batched.ClaimNotifications(t.Context(), ns(), time.Minute)
				if err != nil {
					t.Fatal(err)
				}
				var lastEvent int64
				for i, n := range ns() {
					want, err := single.ClaimNotification(t.Context(), n, time.Minute)
					if err != nil {
						t.Fatal(err)
					}
					g := got[i]
					if kind := map[bool]string{true: "C"}[g.Claimed] + map[bool]string{true: "R"}[g.Refused]; kind == "" && tc.want[i] != 'D' ||
						kind != "" && kind[0] != tc.want[i] {
						t.Errorf("%d (%s): claimed %v refused %v, want %c", i, n.DedupKey, g.Claimed, g.Refused, tc.want[i])
					}
					if g.Claimed && !slices.Contains(tc.keys[i+1:], n.DedupKey) { // no later copy changed it
						stored, err := batched.Notification(t.Context(), g.Notification.ID)
						if err != nil || !reflect.DeepEqual(stored, g.Notification) {
							t.Errorf("%d: returned %+v, stored %+v (%v)", i, g.Notification, stored, err)
						}
					}
					g.Event.Cursor, want.Event.Cursor = "", "" // each database has its own epoch
					if !reflect.DeepEqual(g, want) {
						t.Errorf("%d (%s): batch %+v\none by one %+v", i, n.DedupKey, g, want)
					}
					if g.Claimed {
						if g.Event.ID <= lastEvent {
							t.Errorf("%d: event id %d after %d", i, g.Event.ID, lastEvent)
						}
						lastEvent = g.Event.ID
					}
				}
				for id := int64(1); id <= 8; id++ {
					fb, errB := batched.NotificationForensics(t.Context(), id)
					fs, errS := single.NotificationForensics(t.Context(), id)
					if errB != nil || errS != nil || !reflect.DeepEqual(fb, fs) {
						t.Errorf("forensics of %d: batch %+v (%v), one by one %+v (%v)", id, fb, errB, fs, errS)
					}
				}
			})
		}
	})
}

// seededStore is a new store holding a live claim of "live", an expired claim of "old" (at
// t0+90s, window 1m) and a live refusal of "ref".
func seededStore(t *testing.T, b backend, t0 time.Time) *store.Store {
	t.Helper()
	s := openStore(t, b.DB(t))
	if _, err := s.ClaimNotification(t.Context(), newNotification("old", "h", t0), time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimNotification(t.Context(), newNotification("live", "h", t0.Add(80*time.Second)), time.Minute); err != nil {
		t.Fatal(err)
	}
	ref := store.Refusal{Status: 429, Body: []byte(`{"error":"slow down"}`)}
	if _, err := s.RefuseNotification(t.Context(), "ref", "h", "", ref, t0.Add(60*time.Second), time.Minute); err != nil {
		t.Fatal(err)
	}
	return s
}
