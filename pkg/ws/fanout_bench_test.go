package ws_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"canistry/pkg/registry"
	"canistry/pkg/ws"
)

// The fan-out benchmark keeps the WebSocket clients in a child process (this test binary, run
// as TestFanoutClients): the server's file descriptors and memory are then the hub's alone, so
// the per-connection figure is the server's, and 10,000 clients plus 10,000 server connections
// do not share one RLIMIT_NOFILE. Latency is wall-clock time from Publish to the child's read
// (both processes read the same system clock). Everything stays on loopback.

const (
	envClients = "CANISTRY_WS_BENCH_CLIENTS" // number of clients the child opens
	envURL     = "CANISTRY_WS_BENCH_URL"
)

func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) { benchFanout(b, n) })
	}
}

func benchFanout(b *testing.B, clients int) {
	raiseFileLimit(b)
	hub := ws.NewHub(ws.Config{PingInterval: time.Hour, PongWait: 2 * time.Hour})
	srv := httptest.NewServer(hub)
	b.Cleanup(func() { _ = hub.Close(context.Background()); srv.Close() })

	before := memInUse()
	child, lines := startClients(b, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws", clients)
	waitLine(b, lines, "ready")
	for deadline := time.Now().Add(time.Minute); hub.Status().Clients < int64(clients); {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d clients connected", hub.Status().Clients, clients)
		}
		<-time.After(10 * time.Millisecond)
	}
	perConn := float64(memInUse()-before) / float64(clients)

	var lat []time.Duration
	var rates []float64
	round := 0
	for b.Loop() {
		round++
		sent := time.Now()
		data := fmt.Sprintf(`{"round":%d,"sent":%d}`, round, sent.UnixNano())
		hub.Publish(registry.Event{ID: int64(round), Event: registry.EventSolutionFound, Data: json.RawMessage(data), Timestamp: sent.UnixMilli()})
		got := parseRound(b, waitLine(b, lines, fmt.Sprintf("round %d ", round)))
		lat = append(lat, got...)
		rates = append(rates, float64(clients)/slices.Max(got).Seconds())
	}
	_ = child.stdin.Close() // the child's cue to exit
	_ = child.cmd.Wait()
	slices.Sort(lat)
	slices.Sort(rates)
	b.ReportMetric(ms(lat[len(lat)/2]), "p50_ms")
	b.ReportMetric(ms(lat[len(lat)*99/100]), "p99_ms")
	b.ReportMetric(rates[len(rates)/2], "deliveries/s")
	b.ReportMetric(perConn, "bytes/conn")
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func memInUse() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse + m.StackInuse)
}

// raiseFileLimit lifts the soft RLIMIT_NOFILE to the hard limit.
func raiseFileLimit(b *testing.B) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		b.Fatal(err)
	}
	if rl.Cur < rl.Max {
		rl.Cur = rl.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
			b.Fatal(err)
		}
	}
}

type clientProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

// startClients runs the child process and returns its stdout lines.
func startClients(b *testing.B, url string, n int) (clientProc, <-chan string) {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFanoutClients$", "-test.count=1", "-test.timeout=0")
	cmd.Env = append(os.Environ(), envClients+"="+strconv.Itoa(n), envURL+"="+url)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return clientProc{cmd: cmd, stdin: stdin}, lines
}

func waitLine(b *testing.B, lines <-chan string, prefix string) string {
	b.Helper()
	timeout := time.After(2 * time.Minute)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				b.Fatalf("client process ended before %q", prefix)
			}
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-timeout:
			b.Fatalf("no %q from the client process", prefix)
		}
	}
}

// parseRound reads "round K <µs> <µs> …".
func parseRound(b *testing.B, line string) []time.Duration {
	f := strings.Fields(line)[2:]
	out := make([]time.Duration, len(f))
	for i, s := range f {
		us, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			b.Fatalf("bad latency %q", s)
		}
		out[i] = time.Duration(us) * time.Microsecond
	}
	return out
}
