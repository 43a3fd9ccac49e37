package notify_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"canistry/pkg/notify"
	"canistry/pkg/registry"
	"canistry/pkg/store"
	"canistry/pkg/store/storetest"
)

// BenchmarkIntakeMiningFollower is the intake's throughput of distinct solution_found outcalls
// with the mining follower stopped and running, in interleaved rounds on the same database (so
// both see the same growth), on each backend. The follower is wired as in cmd/notifier: woken
// at each publish of a claimed outcall, else polling every second.
// ratio_with_follower is the throughput with it over the throughput without it.
func BenchmarkIntakeMiningFollower(b *testing.B) {
	for _, backend := range backends {
		b.Run(backend, func(b *testing.B) {
			st, err := store.Open(b.Context(), benchDatabase(b, backend))
			if err != nil {
				b.Fatal(err)
			}
			var current atomic.Pointer[notify.MiningFollower]
			in, err := notify.New(notify.Config{Store: st, Keys: []string{testKey}, Window: 5 * time.Minute,
				Publish: func(registry.Event) error {
					if f := current.Load(); f != nil {
						f.Wake()
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
			var tWithout, tWith time.Duration
			for b.Loop() {
				d, _ := load(b, intake, benchBatch, body)
				tWithout += d
				f := notify.NewMiningFollower(st, time.Second, slog.New(slog.DiscardHandler))
				current.Store(f)
				d, _ = load(b, intake, benchBatch, body)
				tWith += d
				current.Store(nil)
				if err := f.Close(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			if err := storetest.SyncMining(b.Context(), st); err != nil {
				b.Fatal(err)
			}
			n := float64(b.N * benchBatch)
			b.ReportMetric(n/tWithout.Seconds(), "without_notifications/s")
			b.ReportMetric(n/tWith.Seconds(), "with_notifications/s")
			b.ReportMetric(tWithout.Seconds()/tWith.Seconds(), "ratio_with_follower")
		})
	}
}
