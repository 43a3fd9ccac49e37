package webhook_test

import (
	"strconv"
	"testing"
	"time"

	"canistry/pkg/lifecycle/runtest"
	"canistry/pkg/registry"
	"canistry/pkg/webhook"
)

// BenchmarkDelivery measures deliveries per second from a real SQLite log to an in-process
// receiver on loopback (204 at once, signature checked): each endpoint is sent 500 logged
// events, one at a time and in order, each attempt logged and the cursor moved in one
// transaction.
func BenchmarkDelivery(b *testing.B) {
	for _, endpoints := range []int{1, 10} {
		b.Run(strconv.Itoa(endpoints)+"endpoints", func(b *testing.B) {
			const events = 500
			var total time.Duration
			for range b.N {
				b.StopTimer()
				s := newStore(b)
				rx := newGoReceiver(b)
				var hooks []registry.Webhook
				for range endpoints {
					hooks = append(hooks, createWebhook(b, s, rx.url(), registry.EventFilter{}))
				}
				last := logEvents(b, s, events, "")[events-1].ID
				start := time.Now()
				b.StartTimer()
				w := startWorker(b, webhook.Config{Store: s, Owner: "bench", LocalDev: true, Poll: 5 * time.Millisecond})
				runtest.WaitFor(b, "every delivery", func() bool { return w.Stats().Delivered == int64(events*endpoints) })
				b.StopTimer()
				total += time.Since(start)
				for _, h := range hooks {
					if got, err := s.GetWebhook(b.Context(), h.ID); err != nil || got.Cursor != last {
						b.Fatalf("endpoint %d at %d, want %d (%v)", h.ID, got.Cursor, last, err)
					}
				}
			}
			b.ReportMetric(float64(events*endpoints*b.N)/total.Seconds(), "deliveries/s")
		})
	}
}
