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
	"canistry/pkg/notify"
	"canistry/pkg/registry"
	"canistry/pkg/store"
)

// BenchmarkIntakeMiningFollower is the intake's throughput of distinct solution_found outcalls
// with the mining follower stopped and running, in interleaved rounds on the same database (so
// both see the same growth), on each backend. Both sides run the event log's tailer feeding the
// hub's delivery, as cmd/notifier does; with the follower it is wired as there too: woken at each
// publish, polling every second, and synced before the delivery of a solution_found event
// (SyncBefore). Each phase starts with nothing pending, the phase with the follower ends when
// it has applied all its outcalls, and which phase goes first alternates by round.
// ratio_with_follower is the throughput with it over the throughput without it; drained_share
// is the share of its outcalls that the follower applied after the load ended (timed in its
// phase); without_spread (with two rounds or more) is (max − min) / median of the rounds'
// rates without it, the noise a ratio is judged against.
func BenchmarkIntakeMiningFollower(b *testing.B) {
	for _, backend := range backends {
		b.Run(backend, func(b *testing.B) {
			st, err := store.Open(b.Context(), benchDatabase(b, backend))
			if err != nil {
				b.Fatal(err)
			}
			var current atomic.Pointer[followerWiring]
			in, err := notify.New(notify.Config{Store: st, Keys: []string{testKey}, Window: 5 * time.Minute,
				Publish: func(registry.Event) error {
					if w := current.Load(); w != nil {
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
			intake := serve(b, in)
			var seq atomic.Uint64
			seq.Store(1_700_000_000_000_000_000)
			body := func(int) []byte {
				n := seq.Add(1)
				return notification(registry.EventSolutionFound, n, fmt.Sprintf(`{"token_id":%q,"ticker":"TST","block_height":%d,`+
					`"nonce":42,"hash":"000000ff","difficulty":"%d","reward":50,"decimals":8}`, tokenID, n, n%100_000))
			}
			// phase stores benchBatch outcalls with the follower stopped or running, and the
			// follower's time includes applying every one of its outcalls: what it left pending
			// when the load ended (up to a quarter second's) is applied after it stops, timed.
			// Each phase starts with nothing pending: the outcalls of a phase without the
			// follower are applied before the next phase, outside the timing (left pending, they
			// charged the next phase with the follower twice its work).
			var drained int // solutions the phases with the follower left for their timed sync
			sync := func() (time.Duration, int) {
				start, n := time.Now(), 0
				for more := true; more; {
					r, err := st.SyncMining(b.Context())
					if err != nil {
						b.Fatal(err)
					}
					n, more = n+r.Solutions, r.More
				}
				return time.Since(start), n
			}
			phase := func(follow bool) time.Duration {
				sync()
				w := wireFollower(b, st, follow)
				current.Store(w)
				d, _ := load(b, intake, benchBatch, body)
				current.Store(nil)
				w.close(b)
				if follow {
					rest, n := sync()
					d += rest
					drained += n
				}
				return d
			}
			var tWithout, tWith time.Duration
			var rates []float64 // the without-follower rate of each round: the noise
			round := 0
			for b.Loop() {
				// Which phase goes first alternates, so that what changes within a round (the
				// database's growth, its caches) favours neither.
				for _, follow := range [][]bool{{false, true}, {true, false}}[round%2] {
					d := phase(follow)
					if follow {
						tWith += d
					} else {
						tWithout += d
						rates = append(rates, benchBatch/d.Seconds())
					}
				}
				round++
			}
			n := float64(b.N * benchBatch)
			b.ReportMetric(n/tWithout.Seconds(), "without_notifications/s")
			b.ReportMetric(n/tWith.Seconds(), "with_notifications/s")
			b.ReportMetric(tWithout.Seconds()/tWith.Seconds(), "ratio_with_follower")
			b.ReportMetric(float64(drained)/n, "drained_share") // of the follower's work, done after its load
			if len(rates) > 1 {                                 // the rounds' spread without the follower, relative to their median
				slices.Sort(rates)
				b.ReportMetric((rates[len(rates)-1]-rates[0])/rates[len(rates)/2], "without_spread")
			}
		})
	}
}

// followerWiring is cmd/notifier's tailer, with or without the mining follower.
type followerWiring struct {
	tail     *eventlog.Tailer
	follower *notify.MiningFollower
}

func wireFollower(b *testing.B, st *store.Store, follow bool) *followerWiring {
	w := &followerWiring{}
	deliver := func([]registry.Event) {}
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
