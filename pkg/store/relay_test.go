package store_test

import (
	"testing"
	"time"

	"canistry/pkg/registry"
	"canistry/pkg/store"
)

func relayClaim(key, method, owner string, now time.Time) store.RelayClaim {
	return store.RelayClaim{KeyHash: key, Fingerprint: "fp-" + key, Route: "api", Method: method, Path: "/x", Owner: owner,
		Family: "ipv6", Now: now, Lease: 10 * time.Second, Window: 5 * time.Minute,
		Rerun:   method == "GET",
		Unknown: store.RelayResult{Result: registry.EUpstreamOutcomeUnknown, Reply: registry.RelayReply{Status: 502, Body: []byte(`{"unknown"}`)}}}
}

// TestRelayClaim_Crash: a call whose owner stopped renewing its lease (died mid-call) is, once
// the lease has expired, re-run by the next copy when it is a GET, and stored as
// upstream_outcome_unknown when it is a POST; the dead owner's late finish changes nothing.
func TestRelayClaim_Crash(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := openStore(t, b.DB(t))
		t0 := time.UnixMilli(1_800_000_000_000)
		for _, tc := range []struct {
			method      string
			wantExecute bool
			wantResult  string
			wantAttempt int
		}{
			{"POST", false, registry.EUpstreamOutcomeUnknown, 1},
			{"GET", true, "", 2},
		} {
			key := "crash-" + tc.method
			first, err := s.ClaimRelayCall(t.Context(), relayClaim(key, tc.method, "dead", t0))
			if err != nil || !first.Execute || !first.Claimed {
				t.Fatalf("%s first copy: %+v %v", tc.method, first, err)
			}
			// Within the lease: wait.
			d, err := s.ClaimRelayCall(t.Context(), relayClaim(key, tc.method, "live", t0.Add(5*time.Second)))
			if err != nil || d.Execute || d.Call.State != registry.RelayRunning {
				t.Fatalf("%s copy within the lease: %+v %v", tc.method, d, err)
			}
			// After it: the decision.
			d, err = s.ClaimRelayCall(t.Context(), relayClaim(key, tc.method, "live", t0.Add(11*time.Second)))
			if err != nil || d.Execute != tc.wantExecute || d.Call.Attempts != tc.wantAttempt || d.Call.Result != tc.wantResult {
				t.Fatalf("%s copy after the lease: %+v %v", tc.method, d, err)
			}
			late, err := s.FinishRelayCall(t.Context(), first.Call.ID, "dead", store.RelayResult{Result: registry.RelayOK,
				UpstreamStatus: 200, Reply: registry.RelayReply{Status: 200, Body: []byte("late")}}, t0.Add(12*time.Second), 0)
			if err != nil {
				t.Fatal(err)
			}
			if string(late.Reply.Body) == "late" {
				t.Fatalf("%s: the dead owner's late finish was stored: %+v", tc.method, late)
			}
			if late.Copies != 3 || late.CopiesIPv6 != 3 {
				t.Fatalf("%s: copies %d (ipv6 %d), want 3", tc.method, late.Copies, late.CopiesIPv6)
			}
		}
	})
}

// TestRelayClaim_RefusalAndTTL: a refused key stores its 429 for every copy; a GET's claim
// shortened to its get_ttl at the finish makes the key new again after it; a done key's copies
// with another fingerprint are counted as diverged.
func TestRelayClaim_RefusalAndTTL(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := openStore(t, b.DB(t))
		t0 := time.UnixMilli(1_800_000_000_000)
		c := relayClaim("refused", "POST", "a", t0)
		c.Refusal, c.RefusalHold = &store.RelayResult{Result: registry.ETOOMANY, Reply: registry.RelayReply{Status: 429, Body: []byte("no")}}, time.Minute
		d, err := s.ClaimRelayCall(t.Context(), c)
		if err != nil || d.Execute || !d.Claimed || d.Call.Reply.Status != 429 {
			t.Fatalf("refusal: %+v %v", d, err)
		}
		d, err = s.ClaimRelayCall(t.Context(), relayClaim("refused", "POST", "b", t0.Add(time.Second)))
		if err != nil || d.Execute || d.Call.Reply.Status != 429 {
			t.Fatalf("copy of a refused key: %+v %v", d, err)
		}
		first, err := s.ClaimRelayCall(t.Context(), relayClaim("get", "GET", "a", t0))
		if err != nil || !first.Execute {
			t.Fatal(first, err)
		}
		if _, err := s.FinishRelayCall(t.Context(), first.Call.ID, "a", store.RelayResult{Result: registry.RelayOK,
			Reply: registry.RelayReply{Status: 200, Body: []byte("ok")}}, t0.Add(time.Second), 10*time.Second); err != nil {
			t.Fatal(err)
		}
		other := relayClaim("get", "GET", "b", t0.Add(5*time.Second))
		other.Fingerprint = "another"
		d, err = s.ClaimRelayCall(t.Context(), other)
		if err != nil || d.Execute || string(d.Call.Reply.Body) != "ok" || !d.Call.Diverged {
			t.Fatalf("copy within get_ttl: %+v %v", d, err)
		}
		d, err = s.ClaimRelayCall(t.Context(), relayClaim("get", "GET", "b", t0.Add(12*time.Second)))
		if err != nil || !d.Execute || d.Call.ID == first.Call.ID {
			t.Fatalf("copy after get_ttl: %+v %v", d, err)
		}
		page, err := s.ListRelayCalls(t.Context(), registry.RelayCallFilter{Route: "api", Page: registry.Page{Limit: 10, Desc: true, WithTotal: true}})
		if err != nil || len(page.Items) != 3 || *page.Total != 3 || page.Items[0].ID != d.Call.ID {
			t.Fatalf("list: %+v %v", page, err)
		}
	})
}
