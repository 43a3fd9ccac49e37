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
	"canistry/pkg/store/storetest"
)

// BenchmarkIntakeMiningFollower is the intake's throughput of distinct solution_found outcalls
// with the mining follower stopped and running, in interleaved rounds on the same database (so
// both see the same growth), on each backend. The follower polls every 5 ms here, more often
// than the notifier's (woken at each publish, else every EVENT_LOG_POLL), so the ratio
// (ratio_with_follower: throughput with it / without it) is a conservative bound.
func BenchmarkIntakeMiningFollower(b *testing.B) {
	for _, backend := range backends {
		b.Run(backend, func(b *testing.B) {
			in, st := newBenchIntake(b, backend)
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
				f := notify.NewMiningFollower(st, 5*time.Millisecond, slog.New(slog.DiscardHandler))
				d, _ = load(b, intake, benchBatch, body)
				tWith += d
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
