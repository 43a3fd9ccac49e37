package poll_test

import (
	"math/big"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aviate-labs/agent-go/principal"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"canistry/pkg/bus"
	"canistry/pkg/ic"
	"canistry/pkg/ic/ictest"
	"canistry/pkg/internal/testclock"
	"canistry/pkg/poll"
	"canistry/pkg/registry"
	"canistry/pkg/store"
)

// fixture is a poller wired to a real SQLite file, the replica double and an embedded NATS
// server, with a subscriber collecting every event.
type fixture struct {
	t      *testing.T
	store  *store.Store
	double *ictest.Server
	nats   *bus.Server
	conn   *bus.Conn // the poller's connection
	reg    *prometheus.Registry
	clock  *testclock.Clock
	poller *poll.Poller
	events chan registry.Event
}

// newFixture builds a fixture; tune adjusts the poller's config (spreading is off unless tune
// turns it on, and backoff jitter takes the middle of its window).
func newFixture(t *testing.T, tune func(*poll.Config)) *fixture {
	t.Helper()
	f := &fixture{t: t, double: ictest.NewServer(t), reg: prometheus.NewRegistry(),
		clock: testclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)), events: make(chan registry.Event, 1024)}
	var err error
	f.store, err = store.Open(t.Context(), filepath.Join(t.TempDir(), "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.store.Close() })
	f.startNATS("nats://127.0.0.1:0")
	f.conn = f.connect("poller")
	sub := f.connect("events")
	if _, err := bus.Subscribe(sub, bus.SubjectEventsAll, "", func(_ string, e registry.Event) { f.events <- e }); err != nil {
		t.Fatal(err)
	}
	if err := sub.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	client, err := poll.NewClient(t.Context(), ic.Config{URL: f.double.URL(), FetchRootKey: true, VerifyQuerySignatures: true}, 0)
	if err != nil {
		t.Fatal(err)
	}
	cfg := poll.Config{Schedule: "@every 1m", Concurrency: 4, Timeout: 30 * time.Second, Spread: -1,
		StatsRetention: 24 * time.Hour, Now: f.clock.Now, Rand: func(n int64) int64 { return n / 2 }, Metrics: f.reg}
	if tune != nil {
		tune(&cfg)
	}
	f.poller, err = poll.New(cfg, f.store, client, f.conn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.poller.Stop(t.Context()) })
	return f
}

func (f *fixture) startNATS(url string) {
	f.t.Helper()
	// A generous readiness wait: on a loaded 2-core machine under -race, 10 s was once too short.
	ns, err := bus.Serve(bus.ServerConfig{URL: url, ReadyTimeout: time.Minute})
	if err != nil {
		f.t.Fatal(err)
	}
	f.nats = ns
	f.t.Cleanup(ns.Shutdown)
}

func (f *fixture) connect(name string) *bus.Conn {
	f.t.Helper()
	c, err := bus.Connect(bus.ConnectConfig{URL: f.nats.ClientURL(), Name: name})
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(c.Close)
	return c
}

// sweep runs one unspread sweep and fails the test on error.
func (f *fixture) sweep() poll.SweepResult {
	f.t.Helper()
	res, err := f.poller.Sweep(f.t.Context())
	if err != nil {
		f.t.Fatal(err)
	}
	return res
}

// drainEvents returns the events published so far: it publishes a marker on the poller's own
// connection and collects until the marker arrives (NATS keeps one connection's order).
func (f *fixture) drainEvents() []registry.Event {
	f.t.Helper()
	if err := f.conn.PublishEvent(registry.Event{Event: "test.marker"}); err != nil {
		f.t.Fatal(err)
	}
	var out []registry.Event
	deadline := time.After(30 * time.Second)
	for {
		select {
		case e := <-f.events:
			if e.Event == "test.marker" {
				return out
			}
			out = append(out, e)
		case <-deadline:
			f.t.Fatal("marker event never arrived")
		}
	}
}

// register registers id as kind.
func (f *fixture) register(id registry.CanisterID, kind registry.Kind) {
	f.t.Helper()
	if _, err := f.store.CreateCanister(f.t.Context(), registry.Canister{ID: id, Kind: kind}); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) canister(id registry.CanisterID) registry.CanisterRecord {
	f.t.Helper()
	rec, err := f.store.GetCanister(f.t.Context(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	return rec
}

// metric returns the value of a counter or gauge (summed over label sets matching labels).
func (f *fixture) metric(name string, labels ...string) float64 {
	f.t.Helper()
	mfs, err := f.reg.Gather()
	if err != nil {
		f.t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if hasLabels(m, labels) {
				sum += m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return sum
}

func hasLabels(m *dto.Metric, kv []string) bool {
	for i := 0; i+1 < len(kv); i += 2 {
		if !slices.ContainsFunc(m.GetLabel(), func(l *dto.LabelPair) bool {
			return l.GetName() == kv[i] && l.GetValue() == kv[i+1]
		}) {
			return false
		}
	}
	return true
}

// eventually polls cond until it holds or 30 s pass (a deadline for failure, not a timing
// assertion).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}

// principalN returns the n-th test principal (canister-style).
func principalN(n uint64) principal.Principal {
	raw := make([]byte, 10)
	big.NewInt(0).SetUint64(n).FillBytes(raw[:8])
	raw[8], raw[9] = 0x01, 0x01
	return principal.Principal{Raw: raw}
}

func idOf(p principal.Principal) registry.CanisterID { return registry.CanisterID(p.Encode()) }

// hash32 is a module hash filled with b.
func hash32(b byte) []byte {
	h := make([]byte, 32)
	for i := range h {
		h[i] = b
	}
	return h
}

// installBlackhole puts the first known public blackhole on the double, serving the statuses
// set on the returned program.
func (f *fixture) installBlackhole(t *testing.T) (principal.Principal, *ictest.Blackhole) {
	t.Helper()
	hole, err := principal.Decode(registry.KnownBlackholes[0])
	if err != nil {
		t.Fatal(err)
	}
	bh := ictest.NewBlackhole()
	f.double.AddCanister(hole, hash32(9)).Install(bh)
	return hole, bh
}
