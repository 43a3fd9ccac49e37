package main

import (
	"testing"

	"canistry/pkg/lifecycle/runtest"
)

// The notifier starts without a NATS server (it keeps retrying in the background), serves its
// probes, reports the bus down on /readyz, stops cleanly, and refuses a bad NOTIFIER_ADDR.
func TestRun(t *testing.T) { runtest.CheckRunsWithoutBus(t, run, "NOTIFIER_ADDR") }

// The command line (README "Command line"): --version, --help, check-config, -env-file, stray
// arguments.
func TestRun_CommandLine(t *testing.T) { runtest.CheckCLI(t, run, "notifier") }
