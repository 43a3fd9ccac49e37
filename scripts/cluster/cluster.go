package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"canistry/pkg/bus"
	"canistry/pkg/ic/ictest"
	"canistry/pkg/notify"
)

// Options configure Start.
type Options struct {
	Dir          string   // data, configuration and logs of the cluster (created)
	Bin          string   // directory holding the api, poller and notifier binaries
	Hosts        []string // one loopback address per stack [127.0.0.2, 127.0.0.3]
	APIPort      int      // haproxy's api frontend on 127.0.0.1 (0: a free port)
	NotifierPort int      // haproxy's notifier frontend on 127.0.0.1 (0: a free port)
	// Env is added to every binary's environment (keys, intervals).
	Env map[string]string
	// Demo installs the double's demo canisters (make cluster); tests install their own.
	Demo bool
	Log  io.Writer // progress lines; nil discards
}

// Cluster is the reference two-host layout on one machine: PostgreSQL, the replica double,
// a three-node NATS cluster (one node embedded in each stack's api, a third here), two full
// stacks on their own loopback addresses, and haproxy in front of both.
type Cluster struct {
	opts        Options
	PG          *Postgres
	Double      *ictest.Server
	NATS        *bus.Server // the third node
	Stacks      []*Stack
	Token       string
	APIURL      string // through haproxy
	NotifierURL string // through haproxy
	haproxy     *exec.Cmd
	haproxyDone chan struct{} // closed when haproxy has exited
	natsURLs    []string
	routes      []string
}

// Stack is one host's api, poller and notifier.
type Stack struct {
	Name, Host                        string
	APIAddr, NotifierAddr, PollerAddr string
	NATSAddr, RouteAddr               string
	c                                 *Cluster
	procs                             map[string]*exec.Cmd
	exited                            map[string]chan struct{}
}

// binaries in start order: the api hosts the bus node the others connect to first.
var binaries = []string{"api", "poller", "notifier"}

// freeOn returns a port free on host now.
func freeOn(host string) (int, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func freeAddr(host string) (string, error) {
	p, err := freeOn(host)
	return net.JoinHostPort(host, strconv.Itoa(p)), err
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Start brings the whole layout up and waits until every binary is ready. On error it stops
// what it started.
func Start(ctx context.Context, opts Options) (_ *Cluster, err error) {
	if len(opts.Hosts) == 0 {
		opts.Hosts = []string{"127.0.0.2", "127.0.0.3"}
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	for _, b := range binaries {
		if _, err := os.Stat(filepath.Join(opts.Bin, b)); err != nil {
			return nil, fmt.Errorf("binary %s: %w (run make build)", b, err)
		}
	}
	if err := os.MkdirAll(filepath.Join(opts.Dir, "logs"), 0o755); err != nil {
		return nil, err
	}
	c := &Cluster{opts: opts, Token: randomHex(16)}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()

	pgPort, err := freeOn("127.0.0.1")
	if err != nil {
		return nil, err
	}
	if c.PG, err = StartPostgres(ctx, pgPort); err != nil {
		return nil, err
	}
	c.logf("postgresql %s (data in %s)", c.PG.URL(), c.PG.Dir)

	logger := slog.New(slog.NewJSONHandler(c.logFile("icdouble"), nil))
	if c.Double, err = ictest.Start(ictest.Options{Addr: "127.0.0.1:0", Logger: logger}); err != nil {
		return nil, err
	}
	if opts.Demo {
		c.Double.InstallDemo(ictest.DemoSpec{Tokens: 2, Ledgers: 1, Miners: 3, Wallets: 1}).Tick()
	}
	c.logf("replica double %s", c.Double.URL())

	for i, h := range opts.Hosts {
		s := &Stack{Name: string(rune('a' + i)), Host: h, c: c, procs: map[string]*exec.Cmd{}, exited: map[string]chan struct{}{}}
		for _, a := range []*string{&s.APIAddr, &s.NotifierAddr, &s.PollerAddr, &s.NATSAddr, &s.RouteAddr} {
			if *a, err = freeAddr(h); err != nil {
				return nil, fmt.Errorf("stack %s on %s: %w (is the address on loopback?)", s.Name, h, err)
			}
		}
		c.Stacks = append(c.Stacks, s)
		c.natsURLs = append(c.natsURLs, "nats://"+s.NATSAddr)
		c.routes = append(c.routes, s.RouteAddr)
	}
	third, err := freeAddr("127.0.0.1")
	if err != nil {
		return nil, err
	}
	thirdRoute, err := freeAddr("127.0.0.1")
	if err != nil {
		return nil, err
	}
	c.natsURLs = append(c.natsURLs, "nats://"+third)
	c.routes = append(c.routes, thirdRoute)
	if c.NATS, err = bus.Serve(bus.ServerConfig{URL: "nats://" + third, Token: c.Token,
		Cluster: bus.ClusterConfig{Name: "canistry", Listen: thirdRoute, Routes: c.routes}}); err != nil {
		return nil, err
	}
	c.logf("nats node %s (cluster routes %s)", c.NATS.Name(), strings.Join(c.routes, ","))

	for _, s := range c.Stacks {
		if err := s.Start(ctx); err != nil {
			return nil, err
		}
		c.logf("stack %s on %s: api %s, notifier %s, poller %s, nats %s", s.Name, s.Host, s.APIAddr, s.NotifierAddr, s.PollerAddr, s.NATSAddr)
	}
	if err := c.startHAProxy(ctx); err != nil {
		return nil, err
	}
	c.logf("haproxy: api %s, notifier (outcalls, /ws) %s", c.APIURL, c.NotifierURL)
	return c, nil
}

func (c *Cluster) logf(format string, args ...any) { fmt.Fprintf(c.opts.Log, format+"\n", args...) }

func (c *Cluster) logFile(name string) *os.File {
	f, err := os.OpenFile(filepath.Join(c.opts.Dir, "logs", name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return os.Stderr
	}
	return f
}

// env is a stack's environment: its own addresses, its bus node first, the shared database.
func (s *Stack) env() []string {
	c := s.c
	urls := []string{"nats://" + s.NATSAddr}
	for _, u := range c.natsURLs {
		if u != urls[0] {
			urls = append(urls, u)
		}
	}
	m := map[string]string{
		"DATA_DIR":            filepath.Join(c.opts.Dir, "stack-"+s.Name),
		"DATABASE_URL":        c.PG.URL(),
		"API_ADDR":            s.APIAddr,
		"NOTIFIER_ADDR":       s.NotifierAddr,
		"POLLER_ADDR":         s.PollerAddr,
		"NOTIFIER_URL":        "http://" + s.NotifierAddr,
		"NATS_URL":            strings.Join(urls, ","),
		"NATS_TOKEN":          c.Token,
		"NATS_CLUSTER_LISTEN": s.RouteAddr,
		"NATS_CLUSTER_ROUTES": strings.Join(c.routes, ","),
		"IC_URL":              c.Double.URL(),
		"IC_FETCH_ROOT_KEY":   "true",
		"HEARTBEAT_INTERVAL":  "1s",
	}
	for k, v := range c.opts.Env {
		m[k] = v
	}
	out := []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	return out
}

// Start starts the stack's api, poller and notifier, each once the one before is ready.
func (s *Stack) Start(ctx context.Context) error {
	if err := os.MkdirAll(filepath.Join(s.c.opts.Dir, "stack-"+s.Name), 0o750); err != nil {
		return err
	}
	addrs := map[string]string{"api": s.APIAddr, "poller": s.PollerAddr, "notifier": s.NotifierAddr}
	for _, b := range binaries {
		cmd := exec.Command(filepath.Join(s.c.opts.Bin, b), "-env-file", "")
		cmd.Env = s.env()
		log := s.c.logFile(s.Name + "-" + b)
		cmd.Stdout, cmd.Stderr = log, log
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start %s of stack %s: %w", b, s.Name, err)
		}
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		s.procs[b], s.exited[b] = cmd, done
		if err := waitReady(ctx, "http://"+addrs[b]+"/readyz", done); err != nil {
			return fmt.Errorf("%s of stack %s: %w (log: %s)", b, s.Name, err, filepath.Join(s.c.opts.Dir, "logs", s.Name+"-"+b+".log"))
		}
	}
	return nil
}

// Kill sends SIGKILL to every binary of the stack at once (the host dies) and waits for them.
func (s *Stack) Kill() {
	for _, b := range binaries {
		if p := s.procs[b]; p != nil && p.Process != nil {
			_ = p.Process.Kill()
		}
	}
	s.wait(time.Minute)
}

// Stop sends SIGTERM in reverse start order and waits for each.
func (s *Stack) Stop() {
	for i := len(binaries) - 1; i >= 0; i-- {
		b := binaries[i]
		if p := s.procs[b]; p != nil && p.Process != nil {
			_ = p.Process.Signal(syscall.SIGTERM)
			select {
			case <-s.exited[b]:
			case <-time.After(30 * time.Second):
				_ = p.Process.Kill()
				<-s.exited[b]
			}
		}
	}
}

func (s *Stack) wait(d time.Duration) {
	deadline := time.After(d)
	for _, b := range binaries {
		if ch := s.exited[b]; ch != nil {
			select {
			case <-ch:
			case <-deadline:
				return
			}
		}
	}
}

// Exited reports which binaries of the stack have exited.
func (s *Stack) Exited() []string {
	var out []string
	for _, b := range binaries {
		select {
		case <-s.exited[b]:
			out = append(out, b)
		default:
		}
	}
	return out
}

// waitReady polls url until it answers 200, the process exits or ctx ends (at most 60 s).
func waitReady(ctx context.Context, url string, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		if resp, err := client.Get(url); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return errors.New("exited before it was ready")
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %w", url, ctx.Err())
		case <-tick.C:
		}
	}
}

// haproxyConfig balances the apis and the notifiers, health-checked on /readyz, and fails over
// at once when a server refuses connections.
// When no notifier is left (all fail /readyz), haproxy answers outcall copies itself: with the
// errorfile, exactly the reply a notifier gives when it cannot decide a copy
// (notify.UnavailableReply), so copies answered by haproxy and by a notifier match.
func (c *Cluster) haproxyConfig(apiPort, notifierPort int, errorfile string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `global
    maxconn 4000
defaults
    mode http
    timeout connect 1s
    timeout client 60s
    timeout server 60s
    timeout tunnel 1h
    option redispatch
    retries 3
frontend api
    bind 127.0.0.1:%d
    default_backend apis
frontend notifier
    bind 127.0.0.1:%d
    default_backend notifiers
`, apiPort, notifierPort)
	for _, be := range []struct {
		name, extra string
		addr        func(*Stack) string
	}{{"apis", "", func(s *Stack) string { return s.APIAddr }},
		{"notifiers", "    errorfile 503 " + errorfile + "\n", func(s *Stack) string { return s.NotifierAddr }}} {
		fmt.Fprintf(&b, "backend %s\n    balance roundrobin\n    option httpchk GET /readyz\n    http-check expect status 200\n%s", be.name, be.extra)
		for _, s := range c.Stacks {
			fmt.Fprintf(&b, "    server %s %s check inter 300ms fall 2 rise 2\n", s.Name, be.addr(s))
		}
	}
	return b.String()
}

func (c *Cluster) startHAProxy(ctx context.Context) error {
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		if _, e := os.Stat("/usr/sbin/haproxy"); e != nil {
			return errors.New("haproxy is not installed (apt-get install haproxy)")
		}
		bin = "/usr/sbin/haproxy"
	}
	apiPort, notifierPort := c.opts.APIPort, c.opts.NotifierPort
	for _, p := range []*int{&apiPort, &notifierPort} {
		if *p == 0 {
			if *p, err = freeOn("127.0.0.1"); err != nil {
				return err
			}
		}
	}
	errorfile := filepath.Join(c.opts.Dir, "notifier-503.http")
	status, body := notify.UnavailableReply()
	reply := fmt.Sprintf("HTTP/1.1 %d %s\r\nContent-Length: %d\r\nContent-Type: application/json\r\n\r\n%s",
		status, http.StatusText(status), len(body), body)
	if err := os.WriteFile(errorfile, []byte(reply), 0o644); err != nil {
		return err
	}
	cfg := filepath.Join(c.opts.Dir, "haproxy.cfg")
	if err := os.WriteFile(cfg, []byte(c.haproxyConfig(apiPort, notifierPort, errorfile)), 0o644); err != nil {
		return err
	}
	cmd := exec.Command(bin, "-db", "-f", cfg)
	log := c.logFile("haproxy")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start haproxy: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	c.haproxy, c.haproxyDone = cmd, done
	c.APIURL = fmt.Sprintf("http://127.0.0.1:%d", apiPort)
	c.NotifierURL = fmt.Sprintf("http://127.0.0.1:%d", notifierPort)
	if err := waitReady(ctx, c.APIURL+"/readyz", done); err != nil {
		return fmt.Errorf("haproxy: %w (log: %s)", err, filepath.Join(c.opts.Dir, "logs", "haproxy.log"))
	}
	return waitReady(ctx, c.NotifierURL+"/readyz", done)
}

// Close stops everything: haproxy, the stacks, the bus node, the double, PostgreSQL.
func (c *Cluster) Close() {
	if c.haproxy != nil && c.haproxy.Process != nil {
		_ = c.haproxy.Process.Kill()
		<-c.haproxyDone
	}
	for _, s := range c.Stacks {
		s.Stop()
	}
	if c.NATS != nil {
		c.NATS.Shutdown()
	}
	if c.Double != nil {
		c.Double.Close()
	}
	if c.PG != nil {
		c.PG.Remove()
	}
}
