package store_test

import (
	"fmt"
	"testing"
	"time"

	"canistry/pkg/registry"
	"canistry/pkg/store"
)

// TestStore_NotificationCopies: each copy counted (by the claim, by a later claim attempt of
// another process, by a refused copy of a claimed key, by a flushed batch) is recorded with
// its family, offset and body hash, the first registry.MaxRecordedCopies only; the summary
// groups them; and the records are purged with their notification.
func TestStore_NotificationCopies(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := openStore(t, b.DB(t))
		t0 := time.UnixMilli(1_800_000_000_000)
		first := newNotification("k", "h1", t0)
		first.Source = "2001:db8::1"
		c, err := s.ClaimNotification(t.Context(), first, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		id := c.Notification.ID
		again := newNotification("k", "h2", t0.Add(1500*time.Millisecond)) // another notifier's copy, decided in the database
		again.Source = "::ffff:192.0.2.1"
		if _, err := s.ClaimNotification(t.Context(), again, time.Minute); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RefuseNotification(t.Context(), "k", "h1", "192.0.2.1", store.Refusal{Status: 429, Body: []byte("{}")}, t0.Add(time.Second), time.Minute); err != nil {
			t.Fatal(err)
		}
		var recs []store.CopyRecord
		for i := range 100 {
			recs = append(recs, store.CopyRecord{Source: fmt.Sprintf("2001:db8::%x", i+2), At: t0.Add(time.Duration(i) * time.Millisecond), BodyHash: "h1"})
		}
		if err := s.AddNotificationCopies(t.Context(), []store.NotificationCopies{{ID: id, Copies: 100, Records: recs}}); err != nil {
			t.Fatal(err)
		}
		f, err := s.NotificationForensics(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		want := registry.CopyForensics{Recorded: registry.MaxRecordedCopies,
			ByFamily:        map[string]int{registry.FamilyIPv6: registry.MaxRecordedCopies - 2, registry.FamilyIPv4: 2},
			DistinctSources: registry.MaxRecordedCopies - 1, Spread: 1500 * time.Millisecond,
			BodyGroups: []registry.BodyGroup{{Hash: "h1", Count: registry.MaxRecordedCopies - 1}, {Hash: "h2", Count: 1}}}
		if fmt.Sprint(f) != fmt.Sprint(want) {
			t.Errorf("forensics\n got %+v\nwant %+v", f, want)
		}
		stats, err := s.CopyStats(t.Context(), []int64{id, id + 1000})
		if err != nil || len(stats) != 1 || stats[0].Copies != 103 || stats[0].Spread != 1500*time.Millisecond {
			t.Errorf("copy stats %+v %v, want 103 copies over 1.5 s", stats, err)
		}
		// Purged with the notification, by the retention sweep.
		if n, err := s.PruneNotifications(t.Context(), t0.Add(48*time.Hour), 24*time.Hour, 10); err != nil || n != 1 {
			t.Fatalf("prune: %d %v", n, err)
		}
		if f, err := s.NotificationForensics(t.Context(), id); err != nil || f.Recorded != 0 {
			t.Errorf("after the prune: %+v %v, want no copies left", f, err)
		}
	})
}
