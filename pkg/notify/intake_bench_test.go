package notify_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"canistry/pkg/bus"
	"canistry/pkg/notify"
	"canistry/pkg/store"
	"canistry/pkg/store/pgtest"
)

// The intake benchmarks run the real handler (SQLite file, embedded NATS) and, in the same run
// and with the same load generator, a bare net/http handler that reads the body and writes a
// fixed JSON reply: the ratio between the two is the cost of the intake. Load stays on loopback.

const (
	benchWorkers = 32   // concurrent connections of the load generator
	benchBatch   = 2000 // requests per measured batch
)

type benchTarget struct {
	url    string
	client *http.Client
}

// backends are the databases the intake benchmarks run on, in the same run: the SQLite file
// and a PostgreSQL that pgtest starts (fsync and synchronous_commit off, like SQLite's
// synchronous=NORMAL in WAL mode: neither flushes on each commit).
var backends = []string{"sqlite", "postgres"}

// benchDatabase is the database path or URL of backend.
func benchDatabase(b *testing.B, backend string) string {
	b.Helper()
	if backend == "postgres" {
		return pgtest.New(b).Database(b)
	}
	return filepath.Join(b.TempDir(), "registry.db")
}

func newBenchIntake(b *testing.B, backend string) (*notify.Intake, *store.Store, *prometheus.Registry) {
	b.Helper()
	ns, err := bus.Serve(bus.ServerConfig{URL: "nats://127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(ns.Shutdown)
	conn, err := bus.Connect(bus.ConnectConfig{URL: ns.ClientURL(), Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(conn.Close)
	st, err := store.Open(b.Context(), benchDatabase(b, backend))
	if err != nil {
		b.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	in, err := notify.New(notify.Config{Store: st, Keys: []string{testKey}, Window: 5 * time.Minute,
		Publish: conn.PublishEvent, Refresh: conn.RequestRefresh,
		Logger: slog.New(slog.DiscardHandler), Limits: notify.Unlimited(), Metrics: reg})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = in.Close(b.Context()); _ = st.Close() })
	return in, st, reg
}

// groupCommit reads, from the intake's metrics, how many claim transactions it committed, how
// many notifications they claimed and the time spent in them.
func groupCommit(b *testing.B, reg *prometheus.Registry) (txs, claims uint64, busy time.Duration) {
	b.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch {
			case mf.GetName() == "canistry_notify_claim_batch_seconds":
				h := m.GetHistogram()
				txs, busy = h.GetSampleCount(), time.Duration(h.GetSampleSum()*float64(time.Second))
			case mf.GetName() == "canistry_notify_copies_total" && labelIs(m, "result", "claimed"):
				claims = uint64(m.GetCounter().GetValue())
			}
		}
	}
	return txs, claims, busy
}

func labelIs(m *dto.Metric, name, value string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == name && l.GetValue() == value {
			return true
		}
	}
	return false
}

func serve(b *testing.B, h http.Handler) benchTarget {
	b.Helper()
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	tr := &http.Transport{MaxIdleConnsPerHost: benchWorkers, MaxConnsPerHost: benchWorkers}
	b.Cleanup(tr.CloseIdleConnections)
	return benchTarget{url: srv.URL + "/miner-notifications", client: &http.Client{Transport: tr}}
}

// bareHandler is the baseline: read the body, write a fixed reply with the same headers.
func bareHandler() http.Handler {
	reply := []byte(acceptedBody("bare"))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header()["Date"] = nil
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(reply)
	})
}

// load sends n requests with benchWorkers concurrent workers; body(i) is request i's body. It
// returns the wall time and each request's latency.
func load(b *testing.B, t benchTarget, n int, body func(i int) []byte) (time.Duration, []time.Duration) {
	b.Helper()
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for range benchWorkers {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				req, _ := http.NewRequest(http.MethodPost, t.url, bytes.NewReader(body(i)))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-API-Key", testKey)
				t0 := time.Now()
				resp, err := t.client.Do(req)
				if err != nil {
					failed.Store(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				lat[i] = time.Since(t0)
				if resp.StatusCode != http.StatusOK {
					failed.Store(resp.Status)
					return
				}
			}
		})
	}
	wg.Wait()
	if f := failed.Load(); f != nil {
		b.Fatalf("load: %v", f)
	}
	return time.Since(start), lat
}

func percentile(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return float64(sorted[int(p*float64(len(sorted)-1))].Microseconds()) / 1000
}

// BenchmarkIntakeDuplicates measures replayed duplicate copies per second (one key, already
// claimed) against the bare handler, on each backend. Target: ratio ≥ 0.5.
func BenchmarkIntakeDuplicates(b *testing.B) {
	for _, backend := range backends {
		b.Run(backend, func(b *testing.B) { benchDuplicates(b, backend) })
	}
}

func benchDuplicates(b *testing.B, backend string) {
	in, _, _ := newBenchIntake(b, backend)
	intake, bare := serve(b, in), serve(b, bareHandler())
	body := solution(1_700_000_000_000_000_000)
	same := func(int) []byte { return body }
	load(b, intake, 1, same) // the claim
	var tIntake, tBare time.Duration
	for b.Loop() {
		d, _ := load(b, bare, benchBatch, same)
		tBare += d
		d, _ = load(b, intake, benchBatch, same)
		tIntake += d
	}
	copies := float64(b.N * benchBatch)
	b.ReportMetric(copies/tIntake.Seconds(), "copies/s")
	b.ReportMetric(copies/tBare.Seconds(), "bare_req/s")
	b.ReportMetric(tBare.Seconds()/tIntake.Seconds(), "ratio_vs_bare")
}

// BenchmarkIntakeDistinct measures distinct notifications per second (each a claim: one
// database transaction writing the notification, its claim and its event-log row, and one bus
// event) with latency percentiles, against the bare handler, on each backend.
// Targets: ≥ 2,000/s, p99 < 50 ms.
func BenchmarkIntakeDistinct(b *testing.B) {
	for _, backend := range backends {
		b.Run(backend, func(b *testing.B) { benchDistinct(b, backend) })
	}
}

func benchDistinct(b *testing.B, backend string) {
	in, st, reg := newBenchIntake(b, backend)
	intake, bare := serve(b, in), serve(b, bareHandler())
	engine := newEngineRun(b, backend, st) // the engine ceiling (intake_bench_engine_test.go)
	var seq atomic.Uint64
	seq.Store(1_700_000_000_000_000_000)
	distinct := func(int) []byte { return solution(seq.Add(1)) }
	var tIntake, tBare time.Duration
	var latIntake, latBare []time.Duration
	for b.Loop() {
		d, l := load(b, bare, benchBatch, distinct)
		tBare += d
		latBare = append(latBare, l...)
		d, l = load(b, intake, benchBatch, distinct)
		tIntake += d
		latIntake = append(latIntake, l...)
		engine.measure(b, distinct)
	}
	slices.Sort(latIntake)
	slices.Sort(latBare)
	n := float64(b.N * benchBatch)
	b.ReportMetric(n/tIntake.Seconds(), "notifications/s")
	b.ReportMetric(percentile(latIntake, 0.50), "p50_ms")
	b.ReportMetric(percentile(latIntake, 0.99), "p99_ms")
	b.ReportMetric(n/tBare.Seconds(), "bare_req/s")
	b.ReportMetric(percentile(latBare, 0.99), "bare_p99_ms")
	b.ReportMetric(tBare.Seconds()/tIntake.Seconds(), "ratio_vs_bare")
	// The group commit: claims per transaction, and the share of the intake's time a claim
	// transaction was running (the one writer's occupancy).
	txs, claims, busy := groupCommit(b, reg)
	b.ReportMetric(float64(claims)/float64(max(txs, 1)), "claims/tx")
	b.ReportMetric(busy.Seconds()/tIntake.Seconds(), "writer_busy")
	engine.report(b, n, tBare, tIntake)
}
