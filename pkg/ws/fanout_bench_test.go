package ws_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"canistry/pkg/eventlog"
	"canistry/pkg/registry"
	"canistry/pkg/store"
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

// BenchmarkFanout publishes one event to 1,000 and 10,000 clients per round, three ways in the
// same run: straight into the hub (hub), through the event log as the notifier runs it (log:
// the event is committed to a real SQLite log, the tailer is woken and reads it, then the hub
// delivers it), and through a bare gorilla broadcaster (no queues, filters, pings or deadlines:
// one goroutine per write), the floor the hub is compared with. Latency is from just before the
// publish (for log: before the commit) to each client's read; first_* is the first client's.
// Targets: 10,000 clients' p99 through the log within 10 % of the hub's, ≥ 100,000
// deliveries/s, < 10 KB per connection.
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("clients=%d/hub", n), func(b *testing.B) {
			hub := ws.NewHub(ws.Config{PingInterval: time.Hour, PongWait: 2 * time.Hour})
			b.Cleanup(func() { _ = hub.Close(context.Background()) })
			benchFanout(b, n, hub, func() int64 { return hub.Status().Clients }, func(round int, data []byte) {
				hub.Publish(registry.Event{ID: int64(round), Event: registry.EventSolutionFound, Data: data, Timestamp: time.Now().UnixMilli()})
			})
		})
		b.Run(fmt.Sprintf("clients=%d/log", n), func(b *testing.B) {
			st, err := store.Open(b.Context(), filepath.Join(b.TempDir(), "registry.db"))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = st.Close() })
			hub := ws.NewHub(ws.Config{PingInterval: time.Hour, PongWait: 2 * time.Hour})
			b.Cleanup(func() { _ = hub.Close(context.Background()) })
			tail, err := eventlog.New(eventlog.Config{Deliver: hub.Deliver,
				Read: func(ctx context.Context, after int64, limit int) ([]registry.Event, error) {
					return st.Events(ctx, after, 0, limit)
				}})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = tail.Close(context.Background()) })
			benchFanout(b, n, hub, func() int64 { return hub.Status().Clients }, func(_ int, data []byte) {
				if _, err := st.AppendEvent(context.Background(), registry.Event{Event: registry.EventSolutionFound, Data: data,
					Timestamp: time.Now().UnixMilli()}); err != nil {
					b.Fatal(err)
				}
				tail.Wake()
			})
		})
		b.Run(fmt.Sprintf("clients=%d/bare", n), func(b *testing.B) {
			bare := &bareBroadcaster{}
			b.Cleanup(bare.close)
			benchFanout(b, n, bare, bare.count, func(_ int, data []byte) { bare.publish(data) })
		})
	}
}

func benchFanout(b *testing.B, clients int, h http.Handler, connected func() int64, publish func(round int, data []byte)) {
	raiseFileLimit(b)
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)

	before := memInUse()
	child, lines := startClients(b, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws", clients)
	waitLine(b, lines, "ready")
	for deadline := time.Now().Add(time.Minute); connected() < int64(clients); {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d clients connected", connected(), clients)
		}
		<-time.After(10 * time.Millisecond)
	}
	perConn := float64(memInUse()-before) / float64(clients)

	var lat, first []time.Duration
	var rates []float64
	round := 0
	for b.Loop() {
		round++
		publish(round, fmt.Appendf(nil, `{"round":%d,"sent":%d}`, round, time.Now().UnixNano()))
		got := parseRound(b, waitLine(b, lines, fmt.Sprintf("round %d ", round)))
		lat = append(lat, got...)
		first = append(first, slices.Min(got))
		rates = append(rates, float64(clients)/slices.Max(got).Seconds())
	}
	_ = child.stdin.Close() // the child's cue to exit
	_ = child.cmd.Wait()
	slices.Sort(lat)
	slices.Sort(first)
	slices.Sort(rates)
	b.ReportMetric(ms(first[len(first)/2]), "first_p50_ms")
	b.ReportMetric(ms(first[len(first)*99/100]), "first_p99_ms")
	b.ReportMetric(ms(lat[len(lat)/2]), "p50_ms")
	b.ReportMetric(ms(lat[len(lat)*99/100]), "p99_ms")
	b.ReportMetric(rates[len(rates)/2], "deliveries/s")
	b.ReportMetric(perConn, "bytes/conn")
}

// bareBroadcaster is the baseline: upgrade, keep the connection, and write each message from a
// new goroutine per connection (under the connection's lock, as gorilla requires one writer at
// a time). It never reads, so it has no reader goroutines either.
type bareBroadcaster struct {
	mu    sync.Mutex
	conns []*bareConn
}

type bareConn struct {
	mu sync.Mutex
	c  *websocket.Conn
}

func (s *bareBroadcaster) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u := websocket.Upgrader{ReadBufferSize: 256, WriteBufferSize: 512, WriteBufferPool: &sync.Pool{}}
	c, err := u.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	s.mu.Lock()
	s.conns = append(s.conns, &bareConn{c: c})
	s.mu.Unlock()
}

func (s *bareBroadcaster) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, bc := range s.conns {
		_ = bc.c.Close()
	}
}

func (s *bareBroadcaster) count() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int64(len(s.conns))
}

func (s *bareBroadcaster) publish(data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, bc := range s.conns {
		go func() {
			bc.mu.Lock()
			defer bc.mu.Unlock()
			_ = bc.c.WriteMessage(websocket.TextMessage, data)
		}()
	}
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
