package poll_test

import (
	"strings"
	"testing"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"

	"canistry/pkg/ic/ictest"
	"canistry/pkg/poll"
	"canistry/pkg/registry"
)

// TestPoller_Faults breaks the miner in each way the IC can fail and checks that the miner is
// backed off with its last good values kept, that the other canisters are unaffected, and that
// the first success after healing resets the failure count.
func TestPoller_Faults(t *testing.T) {
	minerCanister := func(f *fixture, w *world) *ictest.Canister { return f.double.Canister(w.miner.Principal()) }
	tests := []struct {
		name   string
		inject func(f *fixture, w *world)
		heal   func(f *fixture, w *world)
		want   string // in last_error
		stalls bool   // the fault is a call that never answers: only the refresh timeout ends it
	}{
		{"Reject", func(f *fixture, w *world) {
			minerCanister(f, w).RejectWith("get_info", ictest.RejectCanisterError, "IC0503", "Canister trapped: out of luck")
		}, func(f *fixture, w *world) { w.minerProg.Install(minerCanister(f, w)) }, "out of luck", false},
		{"Unavailable", func(f *fixture, w *world) { minerCanister(f, w).SetFault(ictest.FaultHTTP503) },
			func(f *fixture, w *world) { minerCanister(f, w).SetFault(ictest.FaultNone) }, "503", false},
		{"Stalled", func(f *fixture, w *world) { minerCanister(f, w).SetFault(ictest.FaultStall) },
			func(f *fixture, w *world) { minerCanister(f, w).SetFault(ictest.FaultNone) }, "unavailable", true},
		{"Timeout", func(f *fixture, w *world) { minerCanister(f, w).SetLatency(time.Minute) },
			func(f *fixture, w *world) { minerCanister(f, w).SetLatency(0) }, "unavailable", true},
		{"Malformed", func(f *fixture, w *world) { minerCanister(f, w).SetFault(ictest.FaultMalformedReply) },
			func(f *fixture, w *world) { minerCanister(f, w).SetFault(ictest.FaultNone) }, "get_info", false},
		{"Missing", func(f *fixture, w *world) { f.double.RemoveCanister(w.miner.Principal()) },
			func(f *fixture, w *world) {
				f.double.AddCanister(w.miner.Principal(), hash32(4), w.ctrl).Install(w.minerProg)
			}, "not_found", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A short refresh timeout ends the stalled calls; it is configuration, not a timing
			// assertion. Faults that answer get a long one, so that healthy calls slowed by a
			// loaded machine never time out.
			timeout := 30 * time.Second
			if tt.stalls {
				timeout = 500 * time.Millisecond
			}
			f := newFixture(t, func(c *poll.Config) { c.Timeout = timeout })
			w := newWorld(f)
			f.sweep()
			good, err := f.store.GetMiner(t.Context(), w.miner)
			if err != nil {
				t.Fatal(err)
			}
			stats := f.statsCount(w.miner)
			firstSuccess := f.clock.Now()

			tt.inject(f, w)
			for i, wantDelay := range []time.Duration{30 * time.Second, time.Minute} {
				f.clock.Advance(time.Minute)
				res := f.sweep()
				if res.Failed != 1 || res.Refreshed != 4 {
					t.Fatalf("failing sweep %d = %+v, want 1 failed and 4 refreshed", i+1, res)
				}
				c := f.canister(w.miner)
				r := c.Refresh
				if r.ConsecutiveFailures != i+1 || !strings.Contains(r.LastError, tt.want) ||
					!r.LastSuccessAt.Equal(firstSuccess) || !r.NextAttemptAt.Equal(f.clock.Now().Add(wantDelay)) {
					t.Fatalf("after failure %d: refresh state %+v (now %s)", i+1, r, f.clock.Now())
				}
			}
			if m, _ := f.store.GetMiner(t.Context(), w.miner); m.MinerInfo != good.MinerInfo || f.statsCount(w.miner) != stats {
				t.Errorf("last good values not kept: %+v", m.MinerInfo)
			}

			f.clock.Advance(30 * time.Second)
			if res := f.sweep(); res.Due != 4 {
				t.Fatalf("backed-off miner was due: %+v", res)
			}
			tt.heal(f, w)
			f.clock.Advance(time.Minute)
			if res := f.sweep(); res.Refreshed != 5 {
				t.Fatalf("sweep after healing = %+v", res)
			}
			if r := f.canister(w.miner).Refresh; r.ConsecutiveFailures != 0 || r.LastError != "" || !r.LastSuccessAt.Equal(f.clock.Now()) {
				t.Fatalf("success did not reset: %+v", r)
			}
		})
	}
}

// TestPoller_BadRow checks that a canister row the IC client cannot even address (a malformed
// id written by another tool) fails alone.
func TestPoller_BadRow(t *testing.T) {
	f := newFixture(t, nil)
	newWorld(f)
	db, err := gorm.Open(sqlite.Open(f.store.Path()), &gorm.Config{})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Exec(`INSERT INTO canisters (canister_id, kind, created_at, updated_at) VALUES ('not-a-principal', 'token', 0, 0)`).Error
	if err != nil {
		t.Fatal(err)
	}
	if sqlDB, err := db.DB(); err == nil {
		_ = sqlDB.Close()
	}
	res := f.sweep()
	if res.Failed != 1 || res.Refreshed != 5 {
		t.Fatalf("sweep = %+v, want the bad row failed and the rest refreshed", res)
	}
	rec, err := f.store.GetCanister(t.Context(), registry.CanisterID("not-a-principal"))
	if err != nil || rec.Refresh.ConsecutiveFailures != 1 || !strings.Contains(rec.Refresh.LastError, "principal") {
		t.Fatalf("bad row = %+v, %v", rec.Refresh, err)
	}
}

// TestBackoff checks the full-jitter window and its cap.
func TestBackoff(t *testing.T) {
	top := func(n int64) int64 { return n - 1 }
	tests := []struct {
		failures int
		want     time.Duration
	}{
		{0, time.Minute - 1}, {1, time.Minute - 1}, {2, 2*time.Minute - 1}, {3, 4*time.Minute - 1},
		{6, 32*time.Minute - 1}, {7, time.Hour - 1}, {50, time.Hour - 1},
	}
	for _, tt := range tests {
		if got := poll.Backoff(tt.failures, time.Minute, time.Hour, top); got != tt.want {
			t.Errorf("Backoff(%d) upper end = %s, want %s", tt.failures, got, tt.want)
		}
	}
	for range 1000 {
		if d := poll.Backoff(10, time.Minute, time.Hour, nil); d < 0 || d >= time.Hour {
			t.Fatalf("Backoff(10) = %s, outside [0, 1h)", d)
		}
	}
}

// TestOffset checks that offsets are stable per canister, inside the window, and spread.
func TestOffset(t *testing.T) {
	const window = 15 * time.Second
	buckets := make([]int, 15)
	for n := range uint64(3000) {
		id := idOf(principalN(n))
		o := poll.Offset(id, window)
		if o < 0 || o >= window || o != poll.Offset(id, window) {
			t.Fatalf("Offset(%s) = %s", id, o)
		}
		buckets[o/time.Second]++
	}
	for i, n := range buckets {
		if n < 100 || n > 300 { // 200 expected per second of the window
			t.Errorf("second %d of the window holds %d of 3000 canisters", i, n)
		}
	}
	if poll.Offset(idOf(principalN(1)), 0) != 0 {
		t.Error("Offset with no window is not 0")
	}
}

// TestPoller_SweepsWithoutSuccess follows canistry_poller_sweeps_without_success (the
// "no successful refresh in N sweeps" alert) through failing sweeps, a sweep with nothing due
// (which leaves it) and a sweep after healing (which resets it).
func TestPoller_SweepsWithoutSuccess(t *testing.T) {
	f := newFixture(t, nil)
	p := principalN(7)
	miner := f.double.AddCanister(p, hash32(7), principalN(100)).Install(ictest.NewMiner(ictest.MinerInfo{IsMining: true}, ictest.CycleUsage{}))
	f.register(idOf(p), registry.KindMiner)
	miner.SetFault(ictest.FaultHTTP503)
	const gauge = "canistry_poller_sweeps_without_success"
	steps := []struct {
		advance time.Duration // clock moved before the sweep
		heal    bool
		want    float64
	}{
		{0, false, 1},
		{30 * time.Second, false, 2}, // backed off 30 s: due again
		{30 * time.Second, false, 2}, // backed off 1 min: nothing due, the run is left as it is
		{30 * time.Second, true, 0},  // due again and healed: a success resets
	}
	for i, s := range steps {
		f.clock.Advance(s.advance)
		if s.heal {
			miner.SetFault(ictest.FaultNone)
		}
		res := f.sweep()
		if got := f.metric(gauge); got != s.want {
			t.Fatalf("step %d: sweep %+v, %s = %v, want %v", i+1, res, gauge, got, s.want)
		}
	}
}
