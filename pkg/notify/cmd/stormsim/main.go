// Command stormsim plays miner canisters for the local demo (make demo). It sends every
// notification the way a subnet does: as N copies (13, an application subnet) from "replicas"
// that each open their own connection within a jittered window, and it checks that all copies
// got the same reply, as consensus needs.
//
//	stormsim -url http://127.0.0.1:8080/miner-notifications -key KEY -miners ID,ID -tokens ID,ID
//
// Each miner first connects to a token, starts mining, then finds solutions (now and then it
// sends an event the server does not know). Only loopback or a URL you own should be targeted.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "stormsim:", err)
		os.Exit(1)
	}
}

type options struct {
	url            string
	key            string
	miners, tokens []string
	copies         int
	jitter, every  time.Duration
	count          int
}

func parse(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("stormsim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	var miners, tokens string
	fs.StringVar(&o.url, "url", "http://127.0.0.1:8080/miner-notifications", "the intake URL")
	fs.StringVar(&o.key, "key", getenv("NOTIFY_KEY"), "X-API-Key (default $NOTIFY_KEY)")
	fs.StringVar(&miners, "miners", "", "comma-separated miner canister ids (required)")
	fs.StringVar(&tokens, "tokens", "", "comma-separated token canister ids (required)")
	fs.IntVar(&o.copies, "copies", 13, "replica copies per notification (13 app subnet, 34 fiduciary)")
	fs.DurationVar(&o.jitter, "jitter", 300*time.Millisecond, "copies start at random within this window")
	fs.DurationVar(&o.every, "every", 3*time.Second, "one notification this often")
	fs.IntVar(&o.count, "count", 0, "stop after this many notifications (0: run until interrupted)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.miners, o.tokens = split(miners), split(tokens)
	switch {
	case len(o.miners) == 0 || len(o.tokens) == 0:
		return o, errors.New("-miners and -tokens are required")
	case o.key == "":
		return o, errors.New("-key or NOTIFY_KEY is required")
	case o.copies < 1 || o.jitter < 0 || o.every <= 0:
		return o, errors.New("-copies must be ≥ 1, -jitter ≥ 0 and -every > 0")
	}
	return o, nil
}

func split(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	o, err := parse(args, getenv, stderr)
	if err != nil {
		return err
	}
	// Every copy on its own connection, as every replica sends its own request.
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	miners := make([]*miner, len(o.miners))
	for i, id := range o.miners {
		miners[i] = &miner{id: id, token: o.tokens[i%len(o.tokens)], height: 1000 + uint64(rand.N(1000))}
	}
	tick := time.NewTicker(o.every)
	defer tick.Stop()
	for n := 0; o.count == 0 || n < o.count; n++ {
		m := miners[n%len(miners)]
		event, data := m.next()
		body, err := json.Marshal(map[string]any{"event": event, "miner_id": m.id, "timestamp": time.Now().UnixNano(), "data": data})
		if err != nil {
			return err
		}
		replies := storm(ctx, client, o, body)
		if ctx.Err() != nil {
			return nil
		}
		fmt.Fprintf(stdout, "%s %-16s miner %s: %s\n", time.Now().Format("15:04:05"), event, short(m.id), summarize(replies))
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
	return nil
}

// miner walks through a miner's life: connect to a token, start mining, find solutions.
type miner struct {
	id, token string
	height    uint64
	step      int
}

func (m *miner) next() (string, map[string]any) {
	m.step++
	switch {
	case m.step == 1:
		return "token_connected", map[string]any{"token_id": m.token, "miner_id": m.id, "chunk_size": 1_000_000}
	case m.step == 2:
		return "mining_started", map[string]any{"token_id": m.token, "miner_id": m.id}
	case m.step%6 == 0:
		return "hashrate_report", map[string]any{"token_id": m.token, "hashes_per_second": 2_000_000 + rand.N(500_000)}
	}
	m.height += 1 + uint64(rand.N(3))
	return "solution_found", map[string]any{"token_id": m.token, "ticker": "DEMO", "block_height": m.height,
		"nonce": rand.Uint64() >> 16, "hash": fmt.Sprintf("0000%060x", rand.Uint64()), "difficulty": 1 << 22,
		"reward": 5_000_000_000, "decimals": 8}
}

// reply is what one copy got back: everything a replica's consensus compares.
type reply struct {
	status int
	header string
	body   string
	err    error
}

// storm sends o.copies copies of body, each after a random delay within o.jitter.
func storm(ctx context.Context, client *http.Client, o options, body []byte) []reply {
	out := make([]reply, o.copies)
	var wg sync.WaitGroup
	for i := range out {
		wg.Go(func() {
			delay := time.Duration(0)
			if o.jitter > 0 {
				delay = rand.N(o.jitter)
			}
			select {
			case <-ctx.Done():
				out[i].err = ctx.Err()
				return
			case <-time.After(delay):
			}
			out[i] = send(ctx, client, o, body)
		})
	}
	wg.Wait()
	return out
}

func send(ctx context.Context, client *http.Client, o options, body []byte) reply {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.url, bytes.NewReader(body))
	if err != nil {
		return reply{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", o.key)
	req.Header.Set("User-Agent", "ic/1.0")
	resp, err := client.Do(req)
	if err != nil {
		return reply{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	var h []string
	for k, vs := range resp.Header {
		h = append(h, k+": "+strings.Join(vs, ","))
	}
	slices.Sort(h)
	return reply{status: resp.StatusCode, header: strings.Join(h, "\n"), body: string(b), err: err}
}

// summarize says how the copies fared: "13 copies → 200 ×13, identical replies".
func summarize(rs []reply) string {
	statuses := map[int]int{}
	identical := true
	var errs []string
	for _, r := range rs {
		if r.err != nil {
			errs = append(errs, r.err.Error())
			continue
		}
		statuses[r.status]++
		first := rs[0]
		identical = identical && first.err == nil && r.status == first.status && r.header == first.header && r.body == first.body
	}
	var parts []string
	for s, n := range statuses {
		parts = append(parts, fmt.Sprintf("%d ×%d", s, n))
	}
	slices.Sort(parts)
	verdict := "identical replies"
	if !identical || len(errs) > 0 {
		verdict = "REPLIES DIFFER: consensus would fail"
	}
	s := fmt.Sprintf("%d copies → %s, %s", len(rs), strings.Join(parts, ", "), verdict)
	if len(errs) > 0 {
		s += fmt.Sprintf(" (%d failed: %s)", len(errs), errs[0])
	}
	return s
}

func short(id string) string {
	if len(id) > 17 {
		return id[:11] + "…" + id[len(id)-5:]
	}
	return id
}
