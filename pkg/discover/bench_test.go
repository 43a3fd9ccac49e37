package discover_test

import (
	"path/filepath"
	"testing"
	"time"

	"canistry/pkg/bus"
	"canistry/pkg/discover"
	"canistry/pkg/ic"
	"canistry/pkg/ic/ictest"
	"canistry/pkg/store"
)

// BenchmarkDiscover_Run measures one discovery run over 50 DAOs (about mainnet's count, 300
// canisters) against the replica double and a SQLite file, after the first run registered
// them: the daily cost once the registry is filled (every run changes nothing).
func BenchmarkDiscover_Run(b *testing.B) {
	double := ictest.NewServer(b)
	double.InstallSNSDemo(50)
	st, err := store.Open(b.Context(), filepath.Join(b.TempDir(), "registry.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	ns, err := bus.Serve(bus.ServerConfig{URL: "nats://127.0.0.1:0", ReadyTimeout: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(ns.Shutdown)
	conn, err := bus.Connect(bus.ConnectConfig{URL: ns.ClientURL(), Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(conn.Close)
	client, err := ic.New(b.Context(), ic.Config{URL: double.URL(), FetchRootKey: true, VerifyQuerySignatures: true})
	if err != nil {
		b.Fatal(err)
	}
	d, err := discover.New(discover.Config{SNSWasm: ictest.SNSWasmID}, st, client, conn)
	if err != nil {
		b.Fatal(err)
	}
	if run, err := d.Run(b.Context(), discover.TriggerRequest); err != nil || run.Added != 300 {
		b.Fatalf("first run %+v %v", run, err)
	}
	b.ResetTimer()
	for b.Loop() {
		if run, err := d.Run(b.Context(), discover.TriggerRequest); err != nil || run.Unchanged != 300 {
			b.Fatalf("run %+v %v", run, err)
		}
	}
}
