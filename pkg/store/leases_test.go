package store_test

import (
	"testing"
	"time"
)

// TestStore_LeaseDueCanisters: a due canister leased to one owner is not handed to another
// until the lease expires or is released; its owner may take it again.
func TestStore_LeaseDueCanisters(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := openStore(t, b.DB(t))
		ctx := t.Context()
		for i := byte(1); i <= 3; i++ {
			mustRegister(t, s, i, "other")
		}
		now := time.Now()
		steps := []struct {
			name  string
			owner string
			at    time.Time
			want  int
		}{
			{"AFirst", "a", now, 3},
			{"BWhileALeases", "b", now, 0},
			{"ATakesItsOwnAgain", "a", now, 3},
			{"BAfterExpiry", "b", now.Add(time.Minute), 3},
			{"AWhileBLeases", "a", now.Add(time.Minute), 0},
		}
		for _, st := range steps {
			got, err := s.LeaseDueCanisters(ctx, st.at, st.owner, 30*time.Second, 0)
			if err != nil || len(got) != st.want {
				t.Fatalf("%s: %d canisters, %v; want %d", st.name, len(got), err, st.want)
			}
		}
		if err := s.ReleaseLeases(ctx, "b"); err != nil {
			t.Fatal(err)
		}
		if got, err := s.LeaseDueCanisters(ctx, now.Add(time.Minute), "a", time.Second, 2); err != nil || len(got) != 2 {
			t.Fatalf("after b released, with limit 2: %d, %v", len(got), err)
		}
		if got := count(t, s, "refresh_leases", "owner = ?", "a"); got != 2 {
			t.Errorf("a holds %d leases, want 2", got)
		}
	})
}
