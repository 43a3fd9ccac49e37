package ic_test

import (
	"sync"
	"testing"
	"time"

	"canistry/pkg/ic/ictest"
)

// TestClient_Concurrent reads hundreds of canisters at once through a double with latency, as
// the poller does; the race detector checks both sides.
func TestClient_Concurrent(t *testing.T) {
	c, s := newClient(t)
	s.SetLatency(2 * time.Millisecond)
	const n = 100
	miners := make([]*ictest.Miner, n)
	for i := range n {
		miners[i] = ictest.NewMiner(ictest.MinerInfo{ChunkSize: uint64(i)}, ictest.CycleUsage{})
		s.AddCanister(canisterID(uint64(1000+i)), hash32(byte(i))).Install(miners[i])
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Go(func() {
			miners[i].SetInfo(ictest.MinerInfo{ChunkSize: uint64(i), IsMining: true}) // concurrent with reads
			m, _, err := c.Miner(t.Context(), regID(canisterID(uint64(1000+i))))
			if err == nil && m.ChunkSize != uint64(i) {
				t.Errorf("canister %d: chunk size %d", i, m.ChunkSize)
			}
			errs <- err
		})
		wg.Go(func() {
			_, err := c.Canister(t.Context(), regID(canisterID(uint64(1000+i))))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// BenchmarkClient_Canister measures one certified read_state through the double.
func BenchmarkClient_Canister(b *testing.B) {
	s := ictest.NewServer(b)
	c := newBenchClient(b, s)
	id := canisterID(1)
	s.AddCanister(id, hash32(1), id)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Canister(b.Context(), regID(id)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
