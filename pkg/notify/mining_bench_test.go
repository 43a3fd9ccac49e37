package notify_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"canistry/pkg/eventlog"
	"canistry/pkg/lifecycle/runtest"
	"canistry/pkg/notify"
	"canistry/pkg/registry"
	"canistry/pkg/store"
)

// BenchmarkIntakeMiningFollower is the intake's throughput of distinct solution_found outcalls
// with the mining follower stopped and running, in interleaved rounds on the same database (so
// all see the same growth), on each backend. Both sides run the event log's tailer feeding the
// hub's delivery, as cmd/notifier does; with the follower it is wired as there too: woken at each
// publish, polling every second, and synced before the delivery of a solution_found event
// (SyncBefore). A phase with the follower ends when it has applied all its outcalls.
//
// ratio_with_follower is the throughput with it (keeping up: the phase starts with nothing
// pending) over the throughput without it; ratio_catching_up is the same with the follower
// starting with the previous phase's outcalls (as many as its own) pending, as after a restart:
// it applies twice the outcalls while the intake runs. drained_share is the share of its
// outcalls that the follower keeping up applied after the load ended (timed in its phase);
// without_spread (with two rounds or more) is (max − min) / median of the rounds' rates without
// it, the noise a ratio is judged against. Which phase goes first alternates by round.
func BenchmarkIntakeMiningFollower(b *testing.B) {
	for _, backend := range backends {
		b.Run(backend, func(b *testing.B) {
			fb := newFollowerBench(b, backend)
			orders := [][]followerPhase{{withoutFollower, catchingUp, keepingUp}, {keepingUp, withoutFollower, catchingUp}}
			round := 0
			for b.Loop() {
				for _, p := range orders[round%2] { // catching up follows the phase without the follower
					fb.phase(p)
				}
				round++
			}
			n := float64(b.N * benchBatch)
			without := fb.took[withoutFollower].Seconds()
			b.ReportMetric(n/without, "without_notifications/s")
			b.ReportMetric(n/fb.took[keepingUp].Seconds(), "with_notifications/s")
			b.ReportMetric(without/fb.took[keepingUp].Seconds(), "ratio_with_follower")
			b.ReportMetric(without/fb.took[catchingUp].Seconds(), "ratio_catching_up")
			b.ReportMetric(float64(fb.drained)/n, "drained_share")
			if rates := fb.rates; len(rates) > 1 { // the rounds' spread without the follower, relative to their median
				slices.Sort(rates)
				b.ReportMetric((rates[len(rates)-1]-rates[0])/rates[len(rates)/2], "without_spread")
			}
		})
	}
}

// BenchmarkSolutionDelivery is the time from a solution_found outcall sent to the intake to its
// event delivered to the hub, through the tailer and the follower's SyncBefore as in
// cmd/notifier, for an outcall that comes once the follower is calm: waiting for a wake with
// the pause after its last sync over (the common case: a token finds a block every few seconds or
// minutes). ms/delivery is the mean; the waits for calm are not timed.
func BenchmarkSolutionDelivery(b *testing.B) {
	for _, backend := range backends {
		b.Run(backend, func(b *testing.B) {
			fb := newFollowerBench(b, backend)
			delivered := make(chan struct{}, 1)
			w := wireFollower(b, fb.st, true, func(evs []registry.Event) {
				for _, e := range evs {
					if e.Event == registry.EventSolutionFound {
						delivered <- struct{}{}
					}
				}
			})
			fb.current.Store(w)
			b.Cleanup(func() { fb.current.Store(nil); w.close(b) })
			var took time.Duration
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				runtest.WaitFor(b, "the follower calm", w.follower.Calm)
				b.StartTimer()
				start := time.Now()
				load(b, fb.intake, 1, fb.body)
				<-delivered
				took += time.Since(start)
			}
			b.ReportMetric(took.Seconds()*1000/float64(b.N), "ms/delivery")
		})
	}
}

// followerPhase is what runs beside the intake in one phase of BenchmarkIntakeMiningFollower.
type followerPhase int

const (
	withoutFollower followerPhase = iota // the follower stopped
	keepingUp                            // the follower running, nothing pending at the start
	catchingUp                           // the follower running, the previous phase's outcalls pending
)

// followerBench is one backend's intake, store and phase timings.
type followerBench struct {
	b       *testing.B
	st      *store.Store
	intake  benchTarget
	body    func(int) []byte
	current *atomic.Pointer[followerWiring] // the phase's wiring, woken at each publish

	took    [3]time.Duration // by followerPhase
	drained int              // solutions keepingUp phases left for their timed sync
	rates   []float64        // the rate of each phase without the follower: the noise
}

func newFollowerBench(b *testing.B, backend string) *followerBench {
	st, err := store.Open(b.Context(), benchDatabase(b, backend))
	if err != nil {
		b.Fatal(err)
	}
	fb := &followerBench{b: b, st: st, current: new(atomic.Pointer[followerWiring])}
	in, err := notify.New(notify.Config{Store: st, Keys: []string{testKey}, Window: 5 * time.Minute,
		Publish: func(registry.Event) error {
			if w := fb.current.Load(); w != nil {
				w.wake()
			}
			return nil
		},
		Refresh: func(registry.CanisterID) error { return nil },
		Logger:  slog.New(slog.DiscardHandler), Limits: notify.Unlimited()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = in.Close(b.Context()); _ = st.Close() })
	fb.intake = serve(b, in)
	var seq atomic.Uint64
	seq.Store(1_700_000_000_000_000_000)
	fb.body = func(int) []byte {
		n := seq.Add(1)
		return notification(registry.EventSolutionFound, n, fmt.Sprintf(`{"token_id":%q,"ticker":"TST","block_height":%d,`+
			`"nonce":42,"hash":"000000ff","difficulty":"%d","reward":50,"decimals":8}`, tokenID, n, n%100_000))
	}
	return fb
}

// sync applies every pending outcall and says how long that took and how many it applied.
func (fb *followerBench) sync() (time.Duration, int) {
	start, n := time.Now(), 0
	for more := true; more; {
		r, err := fb.st.SyncMining(fb.b.Context())
		if err != nil {
			fb.b.Fatal(err)
		}
		n, more = n+r.Solutions, r.More
	}
	return time.Since(start), n
}

// phase stores benchBatch outcalls. Phases but catchingUp start with nothing pending (what a
// phase without the follower stored is applied first, untimed); a phase with the follower
// includes applying every outcall it saw: what the follower left pending when the load ended is
// applied after it stops, timed.
func (fb *followerBench) phase(p followerPhase) {
	if p != catchingUp {
		fb.sync()
	}
	w := wireFollower(fb.b, fb.st, p != withoutFollower, func([]registry.Event) {})
	fb.current.Store(w)
	d, _ := load(fb.b, fb.intake, benchBatch, fb.body)
	fb.current.Store(nil)
	w.close(fb.b)
	switch p {
	case withoutFollower:
		fb.rates = append(fb.rates, benchBatch/d.Seconds())
	case keepingUp:
		rest, n := fb.sync()
		d += rest
		fb.drained += n
	case catchingUp:
		rest, _ := fb.sync()
		d += rest
	}
	fb.took[p] += d
}

// followerWiring is cmd/notifier's tailer, with or without the mining follower.
type followerWiring struct {
	tail     *eventlog.Tailer
	follower *notify.MiningFollower
}

func wireFollower(b *testing.B, st *store.Store, follow bool, deliver func([]registry.Event)) *followerWiring {
	w := &followerWiring{}
	if follow {
		w.follower = notify.NewMiningFollower(st, time.Second, slog.New(slog.DiscardHandler))
		deliver = w.follower.SyncBefore(deliver)
	}
	bounds, err := st.EventLogBounds(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	w.tail, err = eventlog.New(eventlog.Config{
		Read: func(ctx context.Context, after int64, limit int) ([]registry.Event, error) {
			return st.Events(ctx, after, 0, limit)
		},
		Deliver: deliver, From: bounds.Head, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	return w
}

func (w *followerWiring) wake() {
	w.tail.Wake()
	if w.follower != nil {
		w.follower.Wake()
	}
}

func (w *followerWiring) close(b *testing.B) {
	if err := w.tail.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	if w.follower != nil {
		if err := w.follower.Close(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
