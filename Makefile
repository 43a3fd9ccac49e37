# canistry — see README.md. `make run` runs the product; `make test` passes the tests.
SHELL   := /bin/bash
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X canistry/pkg/version.Version=$(VERSION) -X canistry/pkg/version.Commit=$(COMMIT)
BINS    := api poller notifier
DATA_DIR ?= ./data

.PHONY: all build run test vet fmt-check depcheck bench bench-compare clean demo deploy-test cluster assets package

all: build

build:
	@mkdir -p bin
	@for b in $(BINS); do $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/$$b ./cmd/$$b || exit 1; done
	@echo "built: $(addprefix bin/,$(BINS))"

# Starts all three binaries on the embedded defaults with SQLite under ./data. Ctrl-C stops all three.
run: build
	@DATA_DIR=$(DATA_DIR) ./scripts/run_local.sh

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l cmd pkg); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Dependencies point one way (STYLE.md): cmd -> poll/notify/httpapi -> lifecycle -> store/ic/bus/ws/httpserver -> registry.
depcheck:
	$(GO) run ./scripts/depcheck

test: vet fmt-check depcheck
	$(GO) test -race -timeout 20m ./...

# Benchmarks: every Benchmark* in the tree, several runs each, one package at a time (-p 1) so
# that no two benchmarks share the two cores; figures go in README "Performance".
bench:
	@mkdir -p bench
	$(GO) test -p 1 -run '^$$' -bench . -benchmem -count $${COUNT:-5} -timeout 80m ./... | tee bench/latest.txt

# The benchmarks at REF against the working tree, interleaved ROUNDS times, as benchstat tables
# with the load average at start and end (scripts/bench_compare.sh; README "Performance").
# make bench-compare REF=<git ref> [ROUNDS=5] [BENCH=regexp] [PKG=./pkg/store] [BENCHTIME=1x]
bench-compare:
	@REF='$(REF)' ROUNDS='$(ROUNDS)' BENCH='$(BENCH)' PKG='$(PKG)' BENCHTIME='$(BENCHTIME)' GO='$(GO)' ./scripts/bench_compare.sh

# Everything on one machine with no internet: the replica double with demo canisters, the three
# binaries, and simulated miners sending 13-copy outcall storms. Open the printed /test URL.
demo:
	@./scripts/demo.sh

# The deployment under a real systemd: builds, boots Debian 12 with systemd-nspawn (root
# filesystem from debootstrap, cached in .cache/deploy-test) and runs deploy.sh, check_server.sh,
# update_and_restart.sh and the units inside it (README "Deployment"). Needs root, debootstrap
# and systemd-container; fails without them.
deploy-test:
	@./scripts/deploy_test.sh

# The Debian package dist/canistry_<version>_amd64.deb (README "Debian package"): nFPM at the
# version pinned in scripts/tools/go.mod; <version> is VERSION mapped to a Debian version
# (scripts/package.sh --deb-version), or DEB_VERSION when given.
package: build
	@VERSION=$(VERSION) ./scripts/package.sh

# The reference two-host layout on one machine: PostgreSQL, haproxy on 127.0.0.1:8080/8081 in
# front of two stacks on 127.0.0.2 and 127.0.0.3, a three-node NATS cluster, the replica double.
# Needs the Debian packages postgresql and haproxy. Ctrl-C stops it all.
cluster: build
	$(GO) run ./scripts/cluster -bin bin

# The dashboard's vendored browser libraries (README "Dashboard"): web/package-lock.json pins
# them; npm ci installs exactly those and the files the dashboard embeds are copied from them.
# The copies are committed; TestVendoredAssets fails when they differ from the locked package.
VENDOR_DIR := pkg/httpapi/dashboard/vendor
assets:
	cd web && npm ci --no-audit --no-fund
	@mkdir -p $(VENDOR_DIR)
	cp web/node_modules/uplot/dist/uPlot.iife.min.js web/node_modules/uplot/dist/uPlot.min.css web/node_modules/uplot/LICENSE $(VENDOR_DIR)/

clean:
	rm -rf bin dist bench/*.txt
