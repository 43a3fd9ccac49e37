package poll_test

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"canistry/pkg/bus"
	"canistry/pkg/ic"
	"canistry/pkg/internal/testclock"
	"canistry/pkg/poll"
	"canistry/pkg/registry"
	"canistry/pkg/store"
)

// The sweep benchmarks run the replica double in a child process (this test binary, started
// with doubleEnv set; see TestMain), so that the CPU reported for a sweep is the poller's own
// (with its SQLite writes and NATS publishing), not the double's certificate signing. Both
// still share this machine's cores.

// benchLatency is added by the double to every HTTP request.
const benchLatency = 20 * time.Millisecond

// benchCanisters is the registry size; smaller cases sweep a prefix of it.
const benchCanisters = 10_000

// baselineSample is how many canisters the classic baseline reads.
const baselineSample = 100

// BenchmarkSweep measures sweeps over the mixed registry of benchPlan with production IC
// settings (signed-query verification on) and 20 ms added to every request. One registry of
// 10,000 canisters (double, SQLite file, NATS) is built per run and shared by the cases:
//
//   - cold: the first sweep, which stores every value and publishes an event per canister;
//   - canisters=N/concurrency=C: a steady-state sweep (values unchanged: only refresh
//     bookkeeping and miner_stats rows are written) over the first N canisters;
//   - spread=15s: the same with the production spreading of a 1-minute schedule, so the
//     sweep lasts max(15 s, the time the work takes): 1,000 canisters take the window,
//     10,000 the work;
//   - baseline: the classic server's way on a sample, see benchClassic.
//
// A case runs one sweep per iteration and is far longer than the default benchtime, so it
// runs once per -count (go test repeats each sub-benchmark -count times in a row, all on this
// one fixture; the cold case registers a fresh SQLite file each time).
func BenchmarkSweep(b *testing.B) {
	f := newBenchFixture(b)
	b.Run("cold/canisters=10000/concurrency=64", func(b *testing.B) {
		f.newStore(b) // a registry never read, for each run of this case
		f.runCase(b, benchCanisters, 64, 0)
	})
	cases := []struct {
		canisters, concurrency int
		spread                 time.Duration
	}{
		{1000, 64, 0}, {5000, 64, 0}, {10000, 16, 0}, {10000, 64, 0},
		{1000, 64, 15 * time.Second}, {10000, 64, 15 * time.Second},
	}
	for _, c := range cases {
		name := fmt.Sprintf("canisters=%d/concurrency=%d", c.canisters, c.concurrency)
		if c.spread > 0 {
			name += "/spread=" + c.spread.String()
		}
		b.Run(name, func(b *testing.B) {
			f.warm(b)
			f.runCase(b, c.canisters, c.concurrency, c.spread)
		})
	}
	b.Run(fmt.Sprintf("baseline/canisters=%d", baselineSample), func(b *testing.B) {
		f.warm(b)
		f.benchClassic(b)
	})
}

// runCase sweeps the first n canisters with a poller of the given concurrency and spread.
func (f *benchFixture) runCase(b *testing.B, n, concurrency int, spread time.Duration) {
	p, err := poll.New(poll.Config{Concurrency: concurrency, Timeout: 30 * time.Second, Spread: cmp.Or(spread, -1),
		Now: f.clock.Now, Metrics: prometheus.NewRegistry()}, f.store, f.client, f.conn)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = p.Stop(context.Background()) }()
	var wall, cpu, doubleCPU time.Duration
	sweeps := 0
	for b.Loop() {
		f.clock.Advance(time.Minute)
		f.makeDue(b, n)
		cpu0, d0, start := processCPU(b), childCPU(f.pid), time.Now()
		f.sweep(b, p, n, spread > 0)
		wall += time.Since(start)
		cpu += processCPU(b) - cpu0
		doubleCPU += childCPU(f.pid) - d0
		sweeps++
	}
	f.warmed = f.warmed || n == benchCanisters
	per := func(d time.Duration) float64 { return d.Seconds() / float64(sweeps) }
	b.ReportMetric(per(wall), "s/sweep")
	b.ReportMetric(per(cpu), "cpu-s/sweep")
	b.ReportMetric(per(doubleCPU), "double-cpu-s/sweep")
	b.ReportMetric(float64(n)/per(wall), "canisters/s")
	if n == benchCanisters && concurrency == 64 {
		// The target: 10,000 canisters in under 30 s. Reported rather than failed, because on a
		// shared 2-core machine other load decides the wall time as much as this code does.
		b.ReportMetric(per(wall)/30, "of-30s-target")
		if per(wall) >= 30 {
			b.Logf("target missed: %.1f s per sweep of %d canisters (load from other processes counts)", per(wall), n)
		}
	}
}

// sweep runs one sweep: spread through the scheduled job (as the schedule does), or at once
// through Sweep; either way every one of the n due canisters must have been refreshed.
func (f *benchFixture) sweep(b *testing.B, p *poll.Poller, n int, spread bool) {
	b.Helper()
	if spread {
		p.ScheduledJob().Run()
		// A refreshed canister is due again from the sweep's start; one left out still is before.
		left, err := f.store.DueCanisters(b.Context(), f.clock.Now().Add(-time.Millisecond), 0)
		if err != nil || len(left) != 0 {
			b.Fatalf("after a spread sweep %d of %d canisters were not refreshed (%v)", len(left), n, err)
		}
		return
	}
	res, err := p.Sweep(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	if res.Due != n || res.Refreshed != n {
		b.Fatalf("sweep %+v: want all %d canisters refreshed", res, n)
	}
}

// benchClassic is the classic server's way, for comparison: one canister after the other, a
// new agent (with its root-key fetch) per canister, no concurrency, on a sample of
// baselineSample canisters. Its time is linear in the number of canisters (nothing overlaps),
// so extrapolated-s/10k is sample time × 10,000 / baselineSample.
func (f *benchFixture) benchClassic(b *testing.B) {
	ledgers, err := f.store.TrackedLedgers(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	cfg := ic.Config{URL: f.url, FetchRootKey: true, VerifyQuerySignatures: true}
	var wall time.Duration
	n := 0
	for b.Loop() {
		f.clock.Advance(time.Minute)
		start := time.Now()
		for _, c := range f.plan[:baselineSample] {
			if err := classicRefresh(b.Context(), cfg, f.store, c, ledgers, f.clock.Now()); err != nil {
				b.Fatal(err)
			}
		}
		wall += time.Since(start)
		n++
	}
	perCanister := wall.Seconds() / float64(n*baselineSample)
	b.ReportMetric(perCanister*1000, "ms/canister")
	b.ReportMetric(1/perCanister, "canisters/s")
	b.ReportMetric(perCanister*benchCanisters, "extrapolated-s/10k")
}

// classicRefresh reads one canister the classic way (a new client per canister) and stores it
// part by part.
func classicRefresh(ctx context.Context, cfg ic.Config, st *store.Store, c benchCanister, ledgers []registry.CanisterID, now time.Time) error {
	client, err := ic.New(ctx, cfg)
	if err != nil {
		return err
	}
	state, err := client.Canister(ctx, c.id)
	if err != nil {
		return err
	}
	// Each part in its own transaction, as the store's separate save calls did.
	save := func(w store.RefreshWrite) error {
		w.ID, w.At = c.id, now
		_, err := st.SaveRefresh(ctx, w)
		return err
	}
	if err := save(store.RefreshWrite{State: &state}); err != nil {
		return err
	}
	switch c.kind {
	case registry.KindToken:
		t, err := client.Token(ctx, c.id)
		if err == nil {
			err = save(store.RefreshWrite{Token: &t})
		}
		if err != nil {
			return err
		}
	case registry.KindMiner:
		m, stats, err := client.Miner(ctx, c.id)
		if err == nil {
			err = save(store.RefreshWrite{Miner: &m})
		}
		if err == nil && stats != nil {
			err = save(store.RefreshWrite{Stats: stats})
		}
		if err != nil {
			return err
		}
	case registry.KindWallet:
		bals, err := client.Wallet(ctx, c.id, ledgers)
		if err == nil {
			err = save(store.RefreshWrite{Wallet: true, Balances: bals})
		}
		if err != nil {
			return err
		}
	}
	return st.RecordRefresh(ctx, c.id, registry.RefreshState{LastAttemptAt: &now, LastSuccessAt: &now, NextAttemptAt: now})
}

// benchFixture is the benchmark registry: benchCanisters canisters served by a double in a
// child process, registered in a SQLite file, with a NATS server for the events.
type benchFixture struct {
	url    string
	pid    int
	plan   []benchCanister
	store  *store.Store
	db     *gorm.DB // a second connection, to choose which canisters are due
	client *ic.Client
	conn   *bus.Conn
	clock  *testclock.Clock
	dir    string // holds the SQLite files
	stores int
	warmed bool // every canister of the current store has been read once
}

func newBenchFixture(b *testing.B) *benchFixture {
	b.Helper()
	f := &benchFixture{plan: benchPlan(benchCanisters), clock: testclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))}
	f.url, f.pid = startDoubleProcess(b, benchCanisters)
	f.dir = b.TempDir()
	ns, err := bus.Serve(bus.ServerConfig{URL: "nats://127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(ns.Shutdown)
	if f.conn, err = bus.Connect(bus.ConnectConfig{URL: ns.ClientURL(), Name: "bench"}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(f.conn.Close)
	if f.client, err = poll.NewClient(b.Context(), ic.Config{URL: f.url, FetchRootKey: true, VerifyQuerySignatures: true}, 0); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(f.closeStore)
	return f
}

// newStore replaces the registry with a new SQLite file holding every canister of the plan,
// none of them read yet.
func (f *benchFixture) newStore(b *testing.B) {
	b.Helper()
	f.closeStore()
	f.stores++
	path := filepath.Join(f.dir, fmt.Sprintf("registry-%d.db", f.stores))
	var err error
	if f.store, err = store.Open(b.Context(), path); err != nil {
		b.Fatal(err)
	}
	for _, c := range f.plan {
		if _, err := f.store.CreateCanister(b.Context(), registry.Canister{ID: c.id, Kind: c.kind}); err != nil {
			b.Fatal(err)
		}
	}
	if f.db, err = gorm.Open(sqlite.Open(path+"?_pragma=busy_timeout(10000)"), &gorm.Config{Logger: logger.Discard}); err != nil {
		b.Fatal(err)
	}
	f.warmed = false
}

func (f *benchFixture) closeStore() {
	if f.db != nil {
		if sqlDB, err := f.db.DB(); err == nil {
			_ = sqlDB.Close()
		}
	}
	if f.store != nil {
		_ = f.store.Close()
	}
	f.store, f.db = nil, nil
}

// warm makes sure every canister has been read once (when the cold case did not run).
func (f *benchFixture) warm(b *testing.B) {
	b.Helper()
	if f.warmed {
		return
	}
	if f.store == nil {
		f.newStore(b)
	}
	p, err := poll.New(poll.Config{Concurrency: 64, Spread: -1, Now: f.clock.Now}, f.store, f.client, f.conn)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = p.Stop(context.Background()) }()
	f.makeDue(b, benchCanisters)
	f.sweep(b, p, benchCanisters, false)
	f.warmed = true
}

// makeDue makes the first n canisters (in registration order) due now and the rest not.
func (f *benchFixture) makeDue(b *testing.B, n int) {
	b.Helper()
	never := f.clock.Now().Add(24 * time.Hour).UnixMilli()
	err := f.db.Exec(`UPDATE canisters SET next_attempt_at = CASE WHEN pk <= (SELECT MIN(pk) FROM canisters) + ? - 1 THEN 0 ELSE ? END`,
		n, never).Error
	if err != nil {
		b.Fatal(err)
	}
}

// processCPU is this process's user plus system CPU time.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// childCPU reads a child's user plus system CPU time from /proc (0 where /proc is absent).
func childCPU(pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) start after the last ')'.
	fields := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+1:]))
	if len(fields) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	const ticksPerSecond = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticksPerSecond
}

// startDoubleProcess starts this test binary as a replica double serving benchPlan(n) and
// returns its URL and pid; the child exits when its stdin closes (at cleanup).
func startDoubleProcess(b *testing.B, n int) (string, int) {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), doubleEnv+"="+strconv.Itoa(n), latencyEnv+"="+benchLatency.String())
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("replica double process: %v", err)
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	return strings.TrimSpace(line), cmd.Process.Pid
}
