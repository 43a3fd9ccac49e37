package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aviate-labs/agent-go/principal"

	"canistry/pkg/lifecycle/runtest"
)

// The cluster tests run the reference layout (Start) through the real binaries on a real
// PostgreSQL behind a real haproxy, and inject host-level faults. They need the Debian
// packages postgresql and haproxy: in CI (CI=true) a missing one fails the test.

const (
	notifyKey = "cluster-notify-key-0123456789"
	adminKey  = "cluster-admin-key-0123456789abcdef"
)

func requireTools(t *testing.T) {
	t.Helper()
	var missing []string
	if _, err := postgresBin(); err != nil {
		missing = append(missing, "postgresql")
	}
	if _, err := exec.LookPath("haproxy"); err != nil {
		if _, err := os.Stat("/usr/sbin/haproxy"); err != nil {
			missing = append(missing, "haproxy")
		}
	}
	if len(missing) == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("missing Debian packages %v (.ci/run installs them)", missing)
	}
	t.Skipf("missing Debian packages %v", missing)
}

var buildOnce = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "canistry-cluster-bin-")
	if err != nil {
		return "", err
	}
	for _, b := range binaries {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, b), "canistry/cmd/"+b)
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("go build %s: %v\n%s", b, err, out)
		}
	}
	return dir, nil
})

func startCluster(t *testing.T) *Cluster {
	t.Helper()
	requireTools(t)
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	c, err := Start(t.Context(), Options{Dir: dir, Bin: bin, Env: map[string]string{
		"NOTIFY_API_KEYS": notifyKey, "ADMIN_API_KEY": adminKey, "EVENT_LOG_POLL": "200ms", "SHUTDOWN_TIMEOUT": "5s",
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			dumpLogs(t, dir)
		}
		c.Close()
	})
	return c
}

func dumpLogs(t *testing.T, dir string) {
	files, _ := filepath.Glob(filepath.Join(dir, "logs", "*.log"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		t.Logf("--- %s (last lines)\n%s", filepath.Base(f), strings.Join(lines[max(0, len(lines)-15):], "\n"))
	}
}

// psql runs a query on the cluster's database and returns its unaligned rows.
func psql(t *testing.T, c *Cluster, query string) []string {
	t.Helper()
	out, err := exec.Command("psql", "-h", "127.0.0.1", "-p", strconv.Itoa(c.PG.Port), "-U", "postgres", "-d", "canistry",
		"-At", "-c", query).CombinedOutput()
	if err != nil {
		t.Fatalf("psql %q: %v\n%s", query, err, out)
	}
	s := strings.TrimSpace(string(out))
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// outcall is one notification's body; its copies are what the replicas send.
func outcall(miner string, ts uint64) []byte {
	return fmt.Appendf(nil, `{"event":"solution_found","miner_id":%q,"timestamp":%d,"data":{"token_id":"mxzaz-hqaaa-aaaar-qaada-cai","block_height":7}}`, miner, ts)
}

func minerID(i int) string {
	return principal.Principal{Raw: []byte{0, 0, 0, 0, 0, 0, 1, byte(i), 1, 1}}.Encode()
}

// sendCopy posts one copy on a new connection to addr (host:port) and returns the raw reply.
func sendCopy(addr string, body []byte) ([]byte, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	req := fmt.Appendf(nil, "POST /miner-notifications HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nX-API-Key: %s\r\nContent-Length: %d\r\n\r\n%s",
		addr, notifyKey, len(body), body)
	return runtest.RoundTrip(conn, bufio.NewReader(conn), req)
}

func hostPort(url string) string { return strings.TrimPrefix(url, "http://") }

// copies sends n copies of body concurrently through addr and returns the replies (nil for a
// copy that failed at the transport).
func copies(addr string, body []byte, n int) [][]byte {
	out := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { out[i], _ = sendCopy(addr, body) })
	}
	wg.Wait()
	return out
}

func status(reply []byte) string {
	if len(reply) < 12 {
		return ""
	}
	return string(reply[9:12])
}

func loggedIDs(t *testing.T, c *Cluster) []int64 {
	t.Helper()
	var out []int64
	for _, r := range psql(t, c, "SELECT id FROM events ORDER BY id") {
		id, err := strconv.ParseInt(r, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, id)
	}
	return out
}

// checkFollowers waits until every follower has the log's last id and then compares.
func checkFollowers(t *testing.T, c *Cluster, fs ...*runtest.Follower) {
	t.Helper()
	want := loggedIDs(t, c)
	if len(want) == 0 {
		t.Fatal("the event log is empty")
	}
	for _, f := range fs {
		runtest.WaitFor(t, f.Name+" reached the log's head", func() bool {
			ids := f.IDs()
			return len(ids) > 0 && ids[len(ids)-1] >= want[len(want)-1]
		})
		if got := f.IDs(); !slices.Equal(got, want) {
			t.Errorf("%s received %d events, the log has %d; in order and once each: %v", f.Name, len(got), len(want),
				slices.IsSorted(got) && len(slices.Compact(slices.Clone(got))) == len(got))
		}
	}
}

// TestCluster_StormsAcrossHosts: 34-copy storms through haproxy, spread over both notifiers:
// each storm makes one row with 34 copies counted, its copies' replies are byte-identical,
// and clients on both notifiers get one event per storm.
func TestCluster_StormsAcrossHosts(t *testing.T) {
	c := startCluster(t)
	fa := runtest.Follow(t, "client-a", c.Stacks[0].NotifierAddr, "")
	fb := runtest.Follow(t, "client-b", c.Stacks[1].NotifierAddr, "")
	fh := runtest.Follow(t, "client-haproxy", hostPort(c.NotifierURL), "")
	runtest.WaitFor(t, "the three clients connected", func() bool { return wsClients(c) == 3 })
	const storms = 12
	for i := range storms {
		replies := copies(hostPort(c.NotifierURL), outcall(minerID(i), uint64(1_700_000_000_000_000_000+i)), 34)
		for j, r := range replies {
			if status(r) != "200" || !bytes.Equal(r, replies[0]) {
				t.Fatalf("storm %d copy %d: %q, first %q", i, j, r, replies[0])
			}
		}
	}
	// Copies answered from a notifier's memory are counted by its next flush (every 200 ms).
	want := fmt.Sprintf("%d|34|34", storms)
	var rows []string
	runtest.WaitFor(t, "every copy counted", func() bool {
		rows = psql(t, c, "SELECT count(*), min(copies), max(copies) FROM notifications")
		return len(rows) == 1 && (rows[0] == want || !strings.HasPrefix(rows[0], fmt.Sprintf("%d|", storms)))
	})
	if rows[0] != want {
		t.Errorf("notifications: %v, want %d rows of 34 copies", rows, storms)
	}
	checkFollowers(t, c, fa, fb, fh)
	// Both hosts answered: haproxy spread the copies.
	spread := psql(t, c, "SELECT count(DISTINCT name || instance) FROM processes WHERE name = 'notifier'")
	if len(spread) != 1 || spread[0] != "2" {
		t.Errorf("notifier heartbeats: %v, want 2 instances", spread)
	}
}

// TestCluster_HostDies: a whole stack (api, poller, notifier and its bus node) is killed -9 in
// the middle of a stream of storms through haproxy. Every acknowledged notification is stored
// once; the dead host's clients resume on the survivor with their cursors and miss nothing;
// the restarted stack rejoins the bus cluster and its notifier delivers new events again.
func TestCluster_HostDies(t *testing.T) {
	c := startCluster(t)
	a, b := c.Stacks[0], c.Stacks[1]
	fa := runtest.Follow(t, "client-a", a.NotifierAddr, "")
	fb := runtest.Follow(t, "client-b", b.NotifierAddr, "")
	runtest.WaitFor(t, "the two clients connected", func() bool { return wsClients(c) == 2 })

	var acked sync.Map // dedup body -> true when a copy got 200
	var sent atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				body := outcall(minerID(w*64+i%64), uint64(1_800_000_000_000_000_000+w*1_000_000+i))
				sent.Add(1)
				for _, r := range copies(hostPort(c.NotifierURL), body, 13) {
					if status(r) == "200" {
						acked.Store(string(body), true)
					}
				}
			}
		})
	}
	// b's clients resume with their cursors, so b dies only after its client has one: a
	// solution_found event reaches a hub only once the notifier's mining follower counted it
	// (pkg/notify SyncBefore), which can take longer than 20 storms.
	runtest.WaitFor(t, "storms flowing and client-b holding a cursor", func() bool { return sent.Load() >= 20 && fb.Last() > 0 })
	b.Kill()
	before := sent.Load()
	runtest.WaitFor(t, "storms flowing on the survivor", func() bool { return sent.Load() >= before+20 })
	close(stop)
	wg.Wait()

	n := 0
	acked.Range(func(k, _ any) bool {
		n++
		var body struct {
			MinerID   string `json:"miner_id"`
			Timestamp uint64 `json:"timestamp"`
		}
		_ = json.Unmarshal([]byte(k.(string)), &body)
		key := fmt.Sprintf("%s:%d:solution_found", body.MinerID, body.Timestamp)
		if rows := psql(t, c, "SELECT count(*) FROM notifications WHERE dedup_key = '"+key+"'"); len(rows) != 1 || rows[0] != "1" {
			t.Errorf("acknowledged %s: %v rows, want 1", key, rows)
		}
		return true
	})
	if n == 0 {
		t.Fatal("nothing was acknowledged")
	}
	fb.Resume(t, a.NotifierAddr)
	checkFollowers(t, c, fa, fb)

	if err := b.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	runtest.WaitFor(t, "b's bus node rejoined the NATS cluster", func() bool { return c.NATS.NumRoutes() >= 2 })
	fb2 := runtest.Follow(t, "client-b-restarted", b.NotifierAddr, "")
	runtest.WaitFor(t, "haproxy sees b again and b's notifier hears a's events", func() bool {
		ts := uint64(1_900_000_000_000_000_000 + time.Now().UnixNano()%1_000_000_000)
		if r, err := sendCopy(a.NotifierAddr, outcall(minerID(200), ts)); err != nil || status(r) != "200" {
			return false
		}
		return len(fb2.IDs()) > 0
	})
	t.Logf("%d storms sent, %d acknowledged across the host's death", sent.Load(), n)
}

// TestCluster_DatabaseDown: PostgreSQL stops for 10 s under a stream of storms.
// Copies get 503 meanwhile, identical within a storm; nothing acknowledged is lost; new storms
// succeed again by themselves when it is back.
func TestCluster_DatabaseDown(t *testing.T) {
	c := startCluster(t)
	var mu sync.Mutex
	var any503 []byte // every 503, from a notifier or from haproxy, has these bytes
	acked := map[string]bool{}
	refused := 0
	statuses := map[string]int{}
	samples := map[string][]byte{}
	storm := func(i int) (ok bool) {
		body := outcall(minerID(i%200), uint64(2_000_000_000_000_000_000+i))
		replies := copies(hostPort(c.NotifierURL), body, 13)
		ok = true
		mu.Lock()
		defer mu.Unlock()
		var first503 []byte
		for _, r := range replies {
			statuses[status(r)]++
			ok = ok && status(r) == "200"
			if samples[status(r)] == nil {
				samples[status(r)] = r
			}
			switch status(r) {
			case "200":
				acked[string(body)] = true
			case "503":
				refused++
				if first503 == nil {
					first503 = r
				} else if !bytes.Equal(r, first503) {
					t.Errorf("storm %d: 503 replies differ:\n%q\n%q", i, r, first503)
				}
				if any503 == nil {
					any503 = r
				} else if !bytes.Equal(r, any503) {
					t.Errorf("storm %d: a 503 differs from an earlier one:\n%q\n%q", i, r, any503)
				}
			}
		}
		return ok
	}
	i := 0
	for ; i < 10; i++ {
		storm(i)
	}
	if err := c.PG.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	down := time.Now()
	var next atomic.Int64
	next.Store(int64(i))
	var wg sync.WaitGroup
	for range 4 { // storms keep coming while the database is down
		wg.Go(func() {
			for time.Since(down) < 10*time.Second {
				storm(int(next.Add(1)))
			}
		})
	}
	wg.Wait()
	i = int(next.Load()) + 1
	if err := c.PG.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	runtest.WaitFor(t, "storms succeed again", func() bool {
		i++
		return storm(i)
	})
	mu.Lock()
	defer mu.Unlock()
	if refused == 0 {
		t.Error("no copy was refused while the database was down")
	}
	for body := range acked {
		var b struct {
			MinerID   string `json:"miner_id"`
			Timestamp uint64 `json:"timestamp"`
		}
		_ = json.Unmarshal([]byte(body), &b)
		key := fmt.Sprintf("%s:%d:solution_found", b.MinerID, b.Timestamp)
		if rows := psql(t, c, "SELECT count(*) FROM notifications WHERE dedup_key = '"+key+"'"); len(rows) != 1 || rows[0] != "1" {
			t.Errorf("acknowledged %s: %v rows, want 1", key, rows)
		}
	}
	t.Logf("%d storms, %d acknowledged, %d copies refused with 503 during the outage; replies by status %v", i, len(acked), refused, statuses)
	for st, r := range samples {
		t.Logf("%s: %q", st, r)
	}
}

// wsClients is the number of WebSocket clients on all notifiers.
func wsClients(c *Cluster) int64 {
	var n int64
	for _, s := range c.Stacks {
		r, err := http.Get("http://" + s.NotifierAddr + "/ws-status")
		if err != nil {
			continue
		}
		var st struct{ Clients int64 }
		_ = json.NewDecoder(r.Body).Decode(&st)
		r.Body.Close()
		n += st.Clients
	}
	return n
}
