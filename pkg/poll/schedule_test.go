package poll_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"canistry/pkg/ic/ictest"
	"canistry/pkg/poll"
	"canistry/pkg/registry"
)

// gate holds the miner's get_info calls until opened, announcing each call on entered.
type gate struct {
	entered chan struct{}
	release chan struct{}
	once    sync.Once
	calls   atomic.Int32
}

// minerResult is the miner's get_info reply: variant { Ok : MinerInfo; Err : text }.
type minerResult struct {
	Ok  *ictest.MinerInfo `ic:"Ok,variant"`
	Err *string           `ic:"Err,variant"`
}

func blockMiner(f *fixture, w *world) *gate {
	g := &gate{entered: make(chan struct{}, 100), release: make(chan struct{})}
	f.double.Canister(w.miner.Principal()).Handle("get_info", func([]byte) ([]any, error) {
		g.calls.Add(1)
		g.entered <- struct{}{}
		<-g.release
		return []any{minerResult{Ok: &ictest.MinerInfo{IsMining: true}}}, nil
	})
	f.t.Cleanup(g.open)
	return g
}

func (g *gate) open() { g.once.Do(func() { close(g.release) }) }

func (g *gate) waitEntered(t *testing.T) {
	t.Helper()
	select {
	case <-g.entered:
	case <-time.After(30 * time.Second):
		t.Fatal("the miner was never called")
	}
}

// TestPoller_SkipWhileRunning fires schedule ticks while a sweep is held inside a call: the
// ticks are skipped (counted), never overlapped, and the schedule resumes once it ends.
func TestPoller_SkipWhileRunning(t *testing.T) {
	f := newFixture(t, nil)
	w := newWorld(f)
	g := blockMiner(f, w)
	job := f.poller.ScheduledJob()
	done := make(chan struct{})
	go func() {
		job.Run()
		close(done)
	}()
	g.waitEntered(t)

	job.Run() // returns at once: skipped
	job.Run()
	if n := f.metric("canistry_poller_sweeps_skipped_total"); n != 2 {
		t.Fatalf("skipped ticks = %v, want 2", n)
	}
	if _, err := f.poller.Sweep(t.Context()); !errors.Is(err, poll.ErrSweepRunning) {
		t.Fatalf("Sweep while one runs = %v, want ErrSweepRunning", err)
	}
	g.open()
	<-done
	if n := g.calls.Load(); n != 1 {
		t.Fatalf("the miner was read %d times by overlapping sweeps", n)
	}
	f.clock.Advance(time.Minute)
	job.Run()
	if n := f.metric("canistry_poller_sweep_duration_seconds", "trigger", "schedule"); n != 2 {
		t.Fatalf("scheduled sweeps = %v, want 2", n)
	}
	if n := f.metric("canistry_poller_sweeps_skipped_total"); n != 2 {
		t.Fatalf("skipped ticks = %v after the long sweep ended, want still 2", n)
	}
}

// TestPoller_Start checks the real schedule: a sweep happens without being asked.
func TestPoller_Start(t *testing.T) {
	f := newFixture(t, func(c *poll.Config) { c.Schedule = "@every 1s"; c.Spread = 0 })
	w := newWorld(f)
	if err := f.poller.Start(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a scheduled sweep", func() bool {
		return f.metric("canistry_poller_sweep_duration_seconds", "trigger", "schedule") >= 1
	})
	for _, id := range w.all {
		if f.canister(id).Refresh.LastSuccessAt == nil {
			t.Errorf("%s not refreshed by the scheduled sweep", id)
		}
	}
}

func TestPoller_OnDemand(t *testing.T) {
	f := newFixture(t, nil)
	w := newWorld(f)
	if err := f.poller.Start(); err != nil {
		t.Fatal(err)
	}
	api := f.connect("api")
	refreshed := func(id registry.CanisterID) func() bool {
		return func() bool { return f.canister(id).Refresh.LastSuccessAt != nil }
	}

	t.Run("Canister", func(t *testing.T) {
		if err := api.RequestRefresh(w.token); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the token refreshed", refreshed(w.token))
		if f.canister(w.pow).Refresh.LastAttemptAt != nil {
			t.Error("a request for one canister refreshed another")
		}
		if _, err := f.store.GetToken(t.Context(), w.token); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("Unknown", func(t *testing.T) {
		if err := api.RequestRefresh(idOf(principalN(999))); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the request counted", func() bool { return f.metric("canistry_poller_refresh_requests_total", "result", "unknown") == 1 })
	})
	t.Run("All", func(t *testing.T) {
		if err := api.RequestRefresh(""); err != nil {
			t.Fatal(err)
		}
		for _, id := range w.all {
			eventually(t, string(id)+" refreshed", refreshed(id))
		}
	})
}

// TestPoller_Coalesce sends repeated requests for a canister whose refresh is running: they
// become exactly one more refresh.
func TestPoller_Coalesce(t *testing.T) {
	f := newFixture(t, nil)
	w := newWorld(f)
	g := blockMiner(f, w)
	if err := f.poller.Start(); err != nil {
		t.Fatal(err)
	}
	api := f.connect("api")
	if err := api.RequestRefresh(w.miner); err != nil {
		t.Fatal(err)
	}
	g.waitEntered(t)
	for range 5 {
		if err := api.RequestRefresh(w.miner); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "5 coalesced requests", func() bool {
		return f.metric("canistry_poller_refresh_requests_total", "result", "coalesced") == 5
	})
	g.open()
	g.waitEntered(t) // the one follow-up refresh
	if err := f.poller.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := g.calls.Load(); n != 2 {
		t.Fatalf("miner read %d times for 6 requests, want 2 (one run, one coalesced follow-up)", n)
	}
}

// TestPoller_RefreshAfterNATSOutage restarts the NATS server on the same port: the poller's
// subscription comes back and requests work again.
func TestPoller_RefreshAfterNATSOutage(t *testing.T) {
	f := newFixture(t, nil)
	w := newWorld(f)
	if err := f.poller.Start(); err != nil {
		t.Fatal(err)
	}
	url := f.nats.ClientURL()
	f.nats.Shutdown()
	eventually(t, "the poller to notice the outage", func() bool { return !f.conn.Connected() })
	f.startNATS(url)
	eventually(t, "the poller to reconnect", f.conn.Connected)
	if err := f.conn.Flush(t.Context()); err != nil { // the server has the re-sent subscription
		t.Fatal(err)
	}
	api := f.connect("api")
	if err := api.RequestRefresh(w.miner); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the miner refreshed", func() bool { return f.canister(w.miner).Refresh.LastSuccessAt != nil })
}

// TestPoller_StopMidSweep stops the poller while a sweep waits on a stalled canister and a
// held call, with an hour-long refresh timeout: Stop must cancel them and return (the test's
// deadline is only there to fail instead of hanging).
func TestPoller_StopMidSweep(t *testing.T) {
	f := newFixture(t, func(c *poll.Config) { c.Timeout = time.Hour })
	w := newWorld(f)
	f.double.Canister(w.token.Principal()).SetFault(ictest.FaultStall)
	g := blockMiner(f, w)
	type out struct {
		res poll.SweepResult
		err error
	}
	ch := make(chan out, 1)
	go func() {
		res, err := f.poller.Sweep(context.Background())
		ch <- out{res, err}
	}()
	g.waitEntered(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := f.poller.Stop(ctx); err != nil {
		t.Fatalf("Stop = %v", err)
	}
	o := <-ch
	if o.err != nil || o.res.Skipped < 2 {
		t.Fatalf("stopped sweep = %+v, %v; want the token and the miner skipped", o.res, o.err)
	}
	for _, id := range []registry.CanisterID{w.token, w.miner} {
		if r := f.canister(id).Refresh; r.LastAttemptAt != nil || r.ConsecutiveFailures != 0 {
			t.Errorf("%s: a cancelled refresh was recorded as an attempt: %+v", id, r)
		}
	}
	if _, err := f.poller.Sweep(t.Context()); !errors.Is(err, poll.ErrStopped) {
		t.Errorf("Sweep after Stop = %v, want ErrStopped", err)
	}
}
