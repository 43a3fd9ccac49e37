package main

import (
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"canistry/pkg/bus"
	"canistry/pkg/ic/ictest"
	"canistry/pkg/lifecycle/runtest"
	"canistry/pkg/registry"
	"canistry/pkg/store"
)

// pollerEnv is a running poller binary wired to a replica double, an embedded NATS server and
// a SQLite file the test also opens.
type pollerEnv struct {
	double *ictest.Server
	store  *store.Store
	api    *bus.Conn // stands in for the api, which publishes refresh requests
	proc   *runtest.Proc
}

func startPollerEnv(t *testing.T, refreshTimeout string) *pollerEnv {
	t.Helper()
	e := &pollerEnv{double: ictest.NewServer(t)}
	ns, err := bus.Serve(bus.ServerConfig{URL: "nats://127.0.0.1:0", ReadyTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	dir := t.TempDir()
	if e.store, err = store.Open(t.Context(), filepath.Join(dir, "registry.db")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.store.Close() })
	if e.api, err = bus.Connect(bus.ConnectConfig{URL: ns.ClientURL(), Name: "test-api"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.api.Close)
	e.proc = runtest.Start(t, run, map[string]string{
		"DATA_DIR":           dir,
		"POLLER_ADDR":        "127.0.0.1:0",
		"NATS_URL":           ns.ClientURL(),
		"IC_URL":             e.double.URL(),
		"IC_FETCH_ROOT_KEY":  "true",
		"REFRESH_SCHEDULE":   "@every 1h", // sweeps only on request in these tests
		"REFRESH_TIMEOUT":    refreshTimeout,
		"HEARTBEAT_INTERVAL": "100ms",
	})
	runtest.WaitHTTP(t, e.proc.URL("/readyz"), http.StatusOK)
	return e
}

// register installs a miner on the double and registers it.
func (e *pollerEnv) register(t *testing.T, n uint64) (registry.CanisterID, *ictest.Canister) {
	t.Helper()
	p := ictest.CanisterID(n)
	c := e.double.AddCanister(p, make([]byte, 32), p).
		Install(ictest.NewMiner(ictest.MinerInfo{IsMining: true}, ictest.CycleUsage{}))
	id := registry.CanisterID(p.Encode())
	if _, err := e.store.CreateCanister(t.Context(), registry.Canister{ID: id, Kind: registry.KindMiner}); err != nil {
		t.Fatal(err)
	}
	return id, c
}

// requestUntil publishes {} (a sweep) until cond holds: the poller's subscription may reach the
// server a moment after /readyz turns green, and a repeated request is harmless.
func (e *pollerEnv) requestUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if err := e.api.RequestRefresh(""); err != nil {
			t.Fatal(err)
		}
		select {
		case <-deadline:
			t.Fatalf("timed out waiting for %s\n%s", what, e.proc.Log())
		case <-tick.C:
		}
	}
}

func TestRun_RefreshOnRequest(t *testing.T) {
	e := startPollerEnv(t, "30s")
	id, _ := e.register(t, 100)
	e.requestUntil(t, "the miner refreshed", func() bool {
		m, err := e.store.GetMiner(t.Context(), id)
		return err == nil && m.IsMining
	})
	rec, err := e.store.GetCanister(t.Context(), id)
	if err != nil || rec.Refresh.LastSuccessAt == nil || rec.ModuleHash == "" || len(rec.Controllers) != 1 {
		t.Fatalf("canister after the refresh: %+v, %v", rec.Canister, err)
	}
	if err := e.proc.Stop(t); err != nil {
		t.Fatalf("run returned %v", err)
	}
	if errs := e.proc.Errors(); len(errs) > 0 {
		t.Errorf("errors logged: %v", errs)
	}
}

// TestRun_StopMidSweep cancels the binary while a sweep waits on a stalled canister and a held
// call, with a refresh timeout of an hour: run must return (Stop fails the test if it does not
// within its deadline) and log no error.
func TestRun_StopMidSweep(t *testing.T) {
	e := startPollerEnv(t, "1h")
	_, stalled := e.register(t, 100)
	stalled.SetFault(ictest.FaultStall)
	_, held := e.register(t, 101)
	entered, release := make(chan struct{}, 16), make(chan struct{})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	held.Handle("get_info", func([]byte) ([]any, error) {
		entered <- struct{}{}
		<-release
		return nil, &ictest.Reject{Code: ictest.RejectCanisterError, ErrorCode: "IC0503", Message: "released"}
	})
	e.requestUntil(t, "the sweep to reach the held canister", func() bool { return len(entered) > 0 })
	if err := e.proc.Stop(t); err != nil {
		t.Fatalf("run returned %v", err)
	}
	if errs := e.proc.Errors(); len(errs) > 0 {
		t.Errorf("errors logged during shutdown: %v", errs)
	}
}
