package store_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"canistry/pkg/registry"
	"canistry/pkg/store"
)

// BenchmarkStore_Claim: distinct dedup keys claimed from parallel goroutines through two
// stores on one database (two notifier processes or hosts), on each backend, one claim per
// transaction (ClaimNotification) and in group-commit batches of 16 (ClaimNotifications).
// Reports claims/s. The test server of pgtest runs with fsync off; SQLite with
// synchronous=NORMAL in WAL mode also skips the fsync per commit.
func BenchmarkStore_Claim(b *testing.B) {
	for _, be := range backends {
		for _, batch := range []int{1, 16} {
			b.Run(fmt.Sprintf("%s/batch=%d", be.name, batch), func(b *testing.B) {
				db := be.DB(b)
				hosts := make([]*store.Store, 2)
				for i := range hosts {
					s, err := store.Open(b.Context(), db)
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(func() { _ = s.Close() })
					hosts[i] = s
				}
				now := time.UnixMilli(1_700_000_000_000)
				var seq, worker atomic.Int64
				b.SetParallelism(4)
				b.ResetTimer()
				start := time.Now()
				b.RunParallel(func(pb *testing.PB) {
					st := hosts[worker.Add(1)%2]
					for pb.Next() {
						ns := make([]*registry.Notification, batch)
						for i := range ns {
							ns[i] = newNotification(fmt.Sprintf("bench-%d", seq.Add(1)), "h", now)
						}
						if _, err := st.ClaimNotifications(b.Context(), ns, time.Hour); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N*batch)/time.Since(start).Seconds(), "claims/s")
			})
		}
	}
}
