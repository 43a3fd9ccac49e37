package notify_test

import (
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"canistry/pkg/notify"
	"canistry/pkg/registry"
	"canistry/pkg/store"
	"canistry/pkg/store/storetest"
)

// TestMiningFollower_SyncBefore: a delivered batch holding a solution_found event reaches the
// hub after the follower counted it (a page refreshing on the event reads it); when the sync
// fails (the database is gone) the batch is delivered all the same.
func TestMiningFollower_SyncBefore(t *testing.T) {
	ctx := t.Context()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	f := notify.NewMiningFollower(st, time.Hour, slog.New(slog.DiscardHandler))
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	var seen []int64
	deliver := f.SyncBefore(func(evs []registry.Event) {
		sum, err := st.MiningSummary(ctx, store.MiningQuery{Token: tokenID, From: at.Add(-time.Hour), To: at.Add(time.Hour)})
		if err != nil {
			t.Error(err)
		}
		seen = append(seen, sum.Solutions)
	})
	for i, key := range []string{"a", "b"} {
		c, err := storetest.ClaimOutcall(ctx, st, storetest.Outcall{Key: key, Miner: minerID, At: at.Add(time.Duration(i) * time.Second),
			Data: map[string]any{"token_id": tokenID, "block_height": i + 1, "difficulty": "7"}})
		if err != nil {
			t.Fatal(err)
		}
		deliver([]registry.Event{{Event: "mining_started"}, c.Event})
	}
	if len(seen) != 2 || seen[0] != 1 || seen[1] != 2 {
		t.Fatalf("solutions counted at each delivery: %v, want [1 2]", seen)
	}
	if err := f.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	delivered := false
	notify.NewMiningFollower(st, time.Hour, slog.New(slog.DiscardHandler)).SyncBefore(func([]registry.Event) { delivered = true })(
		[]registry.Event{{Event: registry.EventSolutionFound, NotificationID: 3}})
	if !delivered {
		t.Fatal("a batch was not delivered after its sync failed")
	}
}
