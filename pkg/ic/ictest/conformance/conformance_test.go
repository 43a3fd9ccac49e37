// Package conformance_test runs DFINITY's official JavaScript agents against the replica double:
// if @dfinity/agent 3.x and @icp-sdk/core 6.x, with query signature verification on, accept
// what the double serves over real HTTP, the double speaks the IC's interface and not just
// the dialect of our own client.
package conformance_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"os"
	"os/exec"
	"testing"

	"canistry/pkg/ic/ictest"
	"canistry/pkg/lifecycle/runtest"

	"github.com/aviate-labs/agent-go/principal"
)

// TestOfficialAgents serves a demo set (a PoW token with its ledger, a plain ledger, a miner, a
// wallet, an empty canister) and runs conformance.mjs with both agents against it. The script
// gets the double's URL, its root key and every expected value; it fails on any check that
// does not hold and on anything the agents log as a warning or error. In CI (CI set) a missing
// node or npm fails the test; elsewhere it skips.
func TestOfficialAgents(t *testing.T) {
	// package-lock.json pins every package; npm ci installs exactly those (an unreachable npm
	// registry skips the test outside CI and fails it in CI).
	node := runtest.NodePackages(t, ".")

	s := ictest.NewServer(t)
	d := s.InstallDemo(ictest.DemoSpec{Tokens: 1, Ledgers: 1, Miners: 1, Wallets: 1})
	d.Tick()
	empty := ictest.CanisterID(5000)
	s.AddCanister(empty, nil, ictest.CanisterID(999), ictest.CanisterID(998))

	// The demo's values after one Tick (demo.go): the plain ledger is Ledgers[1], after the
	// token's own ledger.
	ledgerHash := sha256.Sum256([]byte("canistry demo ledger"))
	supply := new(big.Int).Exp(big.NewInt(10), big.NewInt(26), nil)
	cfg := map[string]any{
		"url":     s.URL(),
		"rootKey": hex.EncodeToString(s.RootKey()),
		"subnet":  s.SubnetID().Encode(),
		"nodes":   4,
		"ledger": map[string]any{"id": d.Ledgers[1].Encode(), "name": "Demo Ledger 1", "symbol": "DLG1",
			"decimals": 8, "fee": "10000", "supply": supply.String()},
		"wallet": map[string]any{"id": d.Wallets[0].Encode(), "balance": "100000001"},
		"reject": map[string]any{"code": ictest.RejectDestinationInvalid, "errorCode": "IC0536"},
		"token": map[string]any{"id": d.Tokens[0].Encode(), "name": "Demo Pow 1", "ticker": "DPW1",
			"totalSupply": "2100000000000000", "ledgerID": d.Ledgers[0].Encode(), "decimals": 8,
			"blockHeight": "1", "blockReward": "5000000000"},
		"miner": map[string]any{"id": d.Miners[0].Encode(), "chunkSize": "65536", "totalHashes": "1000000",
			"cycles": "4999999000000"},
		"canister": map[string]any{"id": d.Ledgers[1].Encode(), "moduleHash": hex.EncodeToString(ledgerHash[:]),
			"controllers": texts(ictest.CanisterID(999))},
		"empty": map[string]any{"id": empty.Encode(), "controllers": texts(ictest.CanisterID(999), ictest.CanisterID(998))},
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), node, "conformance.mjs")
	cmd.Env = append(os.Environ(), "ICTEST_CONFIG="+string(raw))
	run(t, cmd)
}

// run runs cmd in the test's directory and fails the test with its output if it fails.
func run(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd.Args, err, out.String())
	}
	t.Logf("%s:\n%s", cmd.Args, out.String())
}

func texts(ps ...principal.Principal) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Encode()
	}
	return out
}
