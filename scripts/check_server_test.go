package scripts_test

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"canistry/pkg/tlsconfig"
)

// fakeCanistry stands in for the three binaries: health endpoints and the api's /system/status.
type fakeCanistry struct {
	status         map[string]any
	notifierHealth int // status code of the notifier's /healthz
	env            []string
}

func healthyStatus() map[string]any {
	procs := []map[string]any{}
	for _, n := range []string{"api", "poller", "notifier"} {
		procs = append(procs, map[string]any{"name": n, "alive": true, "heartbeat_at": "2026-01-01T00:00:00Z"})
	}
	return map[string]any{
		"version": "test", "uptime_seconds": 3,
		"database":  map[string]any{"path": "/var/lib/canistry/registry.db", "size_bytes": 4096},
		"nats":      map[string]any{"embedded": true, "connected": true, "status": "CONNECTED"},
		"processes": procs,
	}
}

// start serves f on fresh ports: the api and notifier dual-stack on [::], the poller on [::1];
// with tls set, the api and notifier speak HTTPS.
func (f *fakeCanistry) start(tb testing.TB, tls *tlsconfig.Reloader) {
	tb.Helper()
	status, err := json.MarshalIndent(f.status, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	ok := func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }
	api := http.NewServeMux()
	api.HandleFunc("GET /healthz", ok)
	api.HandleFunc("GET /readyz", ok)
	api.HandleFunc("GET /system/status", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(status)
	})
	notifier := http.NewServeMux()
	notifier.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(f.notifierHealth)
	})
	poller := http.NewServeMux()
	poller.HandleFunc("GET /healthz", ok)

	apiAddr := serveFake(tb, "[::]:0", api, tls)
	notifierAddr := serveFake(tb, "[::]:0", notifier, tls)
	pollerAddr := serveFake(tb, "[::1]:0", poller, nil)
	f.env = append(f.env, "API_ADDR="+apiAddr, "NOTIFIER_ADDR="+notifierAddr, "POLLER_ADDR="+pollerAddr)
}

func serveFake(tb testing.TB, addr string, h http.Handler, certs *tlsconfig.Reloader) string {
	tb.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	if certs != nil {
		ln = certs.Listener(ln)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	tb.Cleanup(func() {
		srv.Close()
		<-done
	})
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		tb.Fatal(err)
	}
	return net.JoinHostPort(host, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
}

func TestCheckServer_Fake(t *testing.T) {
	requireTool(t, "curl")
	requireIPv6(t)
	modes := []string{"grep"}
	if _, err := exec.LookPath("jq"); err == nil {
		modes = append(modes, "jq")
	}
	for _, tt := range []struct {
		name     string
		change   func(f *fakeCanistry)
		args     []string
		wantCode int
		want     string
	}{
		{"OK", func(*fakeCanistry) {}, nil, 0, "all checks passed"},
		{"ErrNATSDisconnected", func(f *fakeCanistry) {
			f.status["nats"] = map[string]any{"connected": false, "status": "RECONNECTING"}
		}, nil, 1, "FAIL  NATS not connected"},
		{"ErrPollerNotAlive", func(f *fakeCanistry) {
			f.status["processes"].([]map[string]any)[1]["alive"] = false
		}, nil, 1, "FAIL  process poller not alive"},
		{"ErrNotifierMissing", func(f *fakeCanistry) {
			f.status["processes"] = f.status["processes"].([]map[string]any)[:2]
		}, nil, 1, "FAIL  process notifier not alive"},
		{"ErrNotifierUnhealthy", func(f *fakeCanistry) { f.notifierHealth = http.StatusServiceUnavailable },
			nil, 1, "FAIL  notifier /healthz over IPv6"},
		{"ServicesSubset", func(f *fakeCanistry) {
			f.status["processes"] = f.status["processes"].([]map[string]any)[:1]
		}, []string{"--services", "api"}, 0, "all checks passed"},
	} {
		for _, mode := range modes {
			t.Run(tt.name+"/"+mode, func(t *testing.T) {
				f := &fakeCanistry{status: healthyStatus(), notifierHealth: http.StatusOK, env: []string{"CHECK_JSON=" + mode}}
				tt.change(f)
				f.start(t, nil)
				r := runScript(t, t.TempDir(), f.env, "check_server.sh", tt.args...)
				if r.code != tt.wantCode || !strings.Contains(r.out, tt.want) {
					t.Errorf("exit %d, want %d with %q:\n%s", r.code, tt.wantCode, tt.want, r.out)
				}
				if tt.wantCode == 0 && (!strings.Contains(r.out, "over IPv4") || !strings.Contains(r.out, "over IPv6")) {
					t.Errorf("did not check both IPv4 and IPv6:\n%s", r.out)
				}
			})
		}
	}

	t.Run("ErrNothingRunning", func(t *testing.T) {
		env := []string{"API_ADDR=[::]:" + strconv.Itoa(freePort(t)), "NOTIFIER_ADDR=[::]:" + strconv.Itoa(freePort(t)),
			"POLLER_ADDR=[::1]:" + strconv.Itoa(freePort(t))}
		if r := runScript(t, t.TempDir(), env, "check_server.sh"); r.code != 1 {
			t.Errorf("exit %d, want 1:\n%s", r.code, r.out)
		}
	})
}

func TestCheckServer_HTTPS(t *testing.T) {
	requireTool(t, "curl")
	requireTool(t, "openssl")
	requireIPv6(t)
	dir := t.TempDir()
	if r := runScript(t, dir, nil, "generate_cert.sh"); r.code != 0 {
		t.Fatalf("generate_cert.sh: exit %d\n%s", r.code, r.out)
	}
	certs, err := tlsconfig.Load(filepath.Join(dir, "certs", "cert.pem"), filepath.Join(dir, "certs", "key.pem"), true, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeCanistry{status: healthyStatus(), notifierHealth: http.StatusOK, env: []string{"USE_HTTPS=true", "LOCAL_DEV=true"}}
	f.start(t, certs)

	r := runScript(t, dir, f.env, "check_server.sh")
	if r.code != 0 || !strings.Contains(r.out, "api certificate on") || !strings.Contains(r.out, "https://[::1]") {
		t.Errorf("exit %d, want 0 with certificate checks over https:\n%s", r.code, r.out)
	}
	t.Run("ErrSelfSignedForHost", func(t *testing.T) {
		// Checked as the internet sees it (HOST given, LOCAL_DEV off), a self-signed certificate
		// fails: IC outcalls would reject it.
		env := append(slices.Clone(f.env), "LOCAL_DEV=false")
		r := runScript(t, dir, env, "check_server.sh", "--ipv6-only", "localhost")
		if r.code != 1 || !strings.Contains(r.out, "not publicly trusted") {
			t.Errorf("exit %d, want 1 with a trust failure:\n%s", r.code, r.out)
		}
	})
	t.Run("ErrExpiresSoon", func(t *testing.T) {
		r := runScript(t, dir, f.env, "check_server.sh", "--min-days", "100000")
		if r.code != 1 || !strings.Contains(r.out, "FAIL  api certificate") {
			t.Errorf("exit %d, want 1 with a certificate failure:\n%s", r.code, r.out)
		}
	})
}

// TestCheckServer_RealBinaries builds the three binaries, starts them with run_local.sh on free
// loopback ports, and expects check_server.sh to pass, then to fail once they are stopped.
func TestCheckServer_RealBinaries(t *testing.T) {
	requireTool(t, "curl")
	requireIPv6(t)
	dir := t.TempDir()
	buildRealBinaries(t, dir)
	vars, _ := realBinaryVars(t, dir)
	vars = append(vars, "HEARTBEAT_INTERVAL=200ms")

	ctx, cancel := context.WithTimeout(t.Context(), scriptTimeout)
	defer cancel()
	run, lines := startRunLocal(ctx, t, dir, vars)
	lines.waitFor(ctx, t, "canistry is running")

	r := runScript(t, dir, vars, "check_server.sh", "--wait", "60")
	if r.code != 0 {
		t.Errorf("check_server.sh: exit %d\n%s", r.code, r.out)
	}

	if err := run.stop(); err != nil {
		t.Errorf("run_local.sh after SIGTERM: %v, want exit 0\n%s", err, lines.rest())
	}
	if r := runScript(t, dir, vars, "check_server.sh"); r.code == 0 {
		t.Errorf("check_server.sh passed with nothing running:\n%s", r.out)
	}
}
