// Command icdouble serves the replica double (package ictest) with a set of demo canisters on a
// fixed loopback port, for local runs of canistry without an Internet Computer:
//
//	go run ./pkg/ic/ictest/cmd/icdouble -addr 127.0.0.1:4943 -demo tokens=2,ledgers=1,miners=3,wallets=1,snses=3
//
// Point canistry at it with IC_URL=http://127.0.0.1:4943 and IC_FETCH_ROOT_KEY=true.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"canistry/pkg/ic/ictest"

	"github.com/aviate-labs/agent-go/principal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "icdouble:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("icdouble", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:4943", "listen address")
	demo := fs.String("demo", "tokens=2,ledgers=1,miners=3,wallets=1,snses=3", `demo canisters ("none" for an empty replica)`)
	tick := fs.Duration("tick", 10*time.Second, "how often demo values change (0: never)")
	latency := fs.Duration("latency", 0, "latency added to every request")
	noInstallTimes := fs.Bool("no-install-times", false, "serve a replica before interface spec 0.66.0: read_state refuses the certified creation and install time paths")
	if err := fs.Parse(args); err != nil {
		return err
	}
	spec, err := ictest.ParseDemoSpec(*demo)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(stderr, nil))
	s, err := ictest.Start(ictest.Options{Addr: *addr, Logger: logger, NoInstallTimes: *noInstallTimes})
	if err != nil {
		return err
	}
	defer s.Close()
	s.SetLatency(*latency)
	d := s.InstallDemo(spec)
	d.Tick()

	fmt.Fprintf(stdout, "replica double on %s\n", s.URL())
	fmt.Fprintf(stdout, "root key: random per run, served by /api/v2/status: set IC_URL=%s IC_FETCH_ROOT_KEY=true\n", s.URL())
	fmt.Fprintf(stdout, "signed queries: verifiable (subnet %s is delegated from the root), keep IC_VERIFY_QUERY_SIGNATURES=true\n", s.SubnetID())
	for _, g := range []struct {
		kind string
		ids  []principal.Principal
	}{{"token", d.Tokens}, {"ledger", d.Ledgers}, {"miner", d.Miners}, {"wallet", d.Wallets}} {
		for _, id := range g.ids {
			fmt.Fprintf(stdout, "%-6s %s\n", g.kind, id)
		}
	}

	if len(d.SNSes) > 0 {
		fmt.Fprintf(stdout, "sns-w  %s (SNS_WASM_CANISTER_ID's default)\n", ictest.SNSWasmID)
	}
	for _, dao := range d.SNSes {
		fmt.Fprintf(stdout, "sns    %s\n", dao.Root.Canisters().Root)
	}

	var ticks <-chan time.Time
	if *tick > 0 {
		t := time.NewTicker(*tick)
		defer t.Stop()
		ticks = t.C
	}
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintln(stdout, "shutting down")
			return nil
		case <-ticks:
			d.Tick()
		}
	}
}
