//go:build unix

package ic_test

import (
	"context"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"canistry/pkg/ic"
	"canistry/pkg/ic/ictest"
	"canistry/pkg/registry"

	"github.com/aviate-labs/agent-go/principal"
)

// benchConcurrency and benchLatency are the poller's target setting: 64 canisters refreshed
// at once, 20 ms added to every HTTP request by the double.
const (
	benchConcurrency = 64
	benchLatency     = 20 * time.Millisecond
)

// verificationModes are the three ways of treating query signatures, measured in one run.
var verificationModes = []struct {
	name string
	new  func(context.Context, ic.Config) (*ic.Client, error)
}{
	{"agent-go", func(ctx context.Context, cfg ic.Config) (*ic.Client, error) {
		cfg.VerifyQuerySignatures = true
		return ic.NewWithAgentGoVerification(ctx, cfg)
	}},
	{"cached", func(ctx context.Context, cfg ic.Config) (*ic.Client, error) {
		cfg.VerifyQuerySignatures = true
		return ic.New(ctx, cfg)
	}},
	{"off", func(ctx context.Context, cfg ic.Config) (*ic.Client, error) {
		cfg.VerifyQuerySignatures = false
		return ic.New(ctx, cfg)
	}},
}

// BenchmarkClient_MinerVerification makes Miner calls (three queries each) at concurrency 64
// with 20 ms latency: agent-go's own signed-query verification, ours with cached node keys,
// and none. It reports calls/s and the process's CPU time per call (client and double share
// the process, so the double's Ed25519 signing and certificates are included).
func BenchmarkClient_MinerVerification(b *testing.B) {
	s := ictest.NewServer(b)
	d := s.InstallDemo(ictest.DemoSpec{Miners: 256})
	s.SetLatency(benchLatency)
	for _, mode := range verificationModes {
		b.Run(mode.name, func(b *testing.B) {
			c, err := mode.new(b.Context(), ic.Config{URL: s.URL(), FetchRootKey: true})
			if err != nil {
				b.Fatal(err)
			}
			measure(b, "calls", func(ctx context.Context, i int) error {
				_, _, err := c.Miner(ctx, regID(d.Miners[i%len(d.Miners)]))
				return err
			})
		})
	}
}

// BenchmarkClient_Refresh refreshes a mix of canisters as the poller does (tokens with their
// ledgers, plain ledgers, miners, wallets in three ledgers; each also its certified module hash
// and controllers) at concurrency 64 with 20 ms latency, and projects the seconds 10,000
// canisters take.
func BenchmarkClient_Refresh(b *testing.B) {
	s := ictest.NewServer(b)
	d := s.InstallDemo(ictest.DemoSpec{Tokens: 20, Ledgers: 20, Miners: 40, Wallets: 20})
	s.SetLatency(benchLatency)
	type target struct {
		id   registry.CanisterID
		kind string
	}
	var targets []target
	for kind, ids := range map[string][]registry.CanisterID{
		"token": regIDs(d.Tokens), "ledger": regIDs(d.Ledgers[len(d.Tokens):]), "miner": regIDs(d.Miners), "wallet": regIDs(d.Wallets),
	} {
		for _, id := range ids {
			targets = append(targets, target{id, kind})
		}
	}
	walletLedgers := regIDs(d.Ledgers[:3])
	for _, mode := range verificationModes {
		b.Run(mode.name, func(b *testing.B) {
			c, err := mode.new(b.Context(), ic.Config{URL: s.URL(), FetchRootKey: true})
			if err != nil {
				b.Fatal(err)
			}
			rate := measure(b, "canisters", func(ctx context.Context, i int) error {
				t := targets[i%len(targets)]
				var err error
				switch t.kind {
				case "token", "ledger":
					_, err = c.Token(ctx, t.id)
				case "miner":
					_, _, err = c.Miner(ctx, t.id)
				case "wallet":
					_, err = c.Wallet(ctx, t.id, walletLedgers)
				}
				if err != nil {
					return err
				}
				_, err = c.Canister(ctx, t.id)
				return err
			})
			b.ReportMetric(10_000/rate, "s/10k")
		})
	}
}

func regIDs(ps []principal.Principal) []registry.CanisterID {
	out := make([]registry.CanisterID, len(ps))
	for i, p := range ps {
		out[i] = registry.CanisterID(p.Encode())
	}
	return out
}

// measure warms the client up with one op per worker (connections, node-key cache), then runs
// b.N ops on benchConcurrency workers and reports <unit>/s and CPU ms per op. It returns the
// ops per second.
func measure(b *testing.B, unit string, op func(context.Context, int) error) float64 {
	b.Helper()
	ctx := b.Context()
	if err := runConcurrently(ctx, benchConcurrency, op); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu0, start := cpuTime(b), time.Now()
	if err := runConcurrently(ctx, b.N, op); err != nil {
		b.Fatal(err)
	}
	elapsed, cpu := time.Since(start), cpuTime(b)-cpu0
	b.StopTimer()
	rate := float64(b.N) / elapsed.Seconds()
	b.ReportMetric(rate, unit+"/s")
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/"+unit[:len(unit)-1])
	return rate
}

// runConcurrently runs op(0..n-1) on benchConcurrency workers and returns the first error.
func runConcurrently(ctx context.Context, n int, op func(context.Context, int) error) error {
	var (
		next     atomic.Int64
		failed   atomic.Bool
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
	)
	for range min(n, benchConcurrency) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n && !failed.Load(); i = int(next.Add(1) - 1) {
				if err := op(ctx, i); err != nil {
					once.Do(func() { firstErr = err })
					failed.Store(true)
					return
				}
			}
		})
	}
	wg.Wait()
	return firstErr
}

// cpuTime is the user plus system CPU time the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
