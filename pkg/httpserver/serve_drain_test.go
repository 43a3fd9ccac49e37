package httpserver_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"canistry/pkg/httpserver"
	"canistry/pkg/lifecycle/runtest"
)

// drainHandler answers every request with the same bytes (no Date, so that the reply does not
// depend on the clock either). Requests to /hold wait until release is closed.
func drainHandler(held chan<- struct{}, release <-chan struct{}) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			held <- struct{}{}
			<-release
		}
		w.Header()["Date"] = nil
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = io.WriteString(w, `{"status":"stored","id":42}`)
	})
}

// waitRefused waits until new TCP connections to srv are refused.
func waitRefused(t *testing.T, srv *httpserver.Server) {
	t.Helper()
	runtest.WaitFor(t, "the listener to refuse connections after Shutdown started", func() bool {
		c, err := net.DialTimeout("tcp", srv.Addr().String(), time.Second)
		if err != nil {
			return true
		}
		_ = c.Close()
		return false
	})
}

func TestServe_DrainHTTP1(t *testing.T) {
	t.Run("TCP", func(t *testing.T) { testDrainHTTP1(t, nil, nil) })
	t.Run("TLS", func(t *testing.T) {
		cfg, pool := testCert(t)
		testDrainHTTP1(t, cfg, pool)
	})
}

// testDrainHTTP1 runs a storm of raw HTTP/1.1 keep-alive clients (over TLS when cfg is set)
// across a Shutdown: every reply that arrives is byte-identical to the steady state.
func testDrainHTTP1(t *testing.T, cfg *tls.Config, pool *x509.CertPool) {
	held, release := make(chan struct{}), make(chan struct{})
	srv := startServer(t, drainHandler(held, release), cfg)
	dial := func() (net.Conn, error) {
		if pool != nil {
			return tls.Dial("tcp", srv.Addr().String(), &tls.Config{RootCAs: pool, NextProtos: []string{"http/1.1"}})
		}
		return net.Dial("tcp", srv.Addr().String())
	}
	const req = "POST /miner-notifications HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
	hold := strings.Replace(req, "/miner-notifications", "/hold", 1)

	// The steady-state reply, byte for byte.
	c := dialRaw(t, srv, pool)
	_, _ = io.WriteString(c, req)
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	want := []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 27\r\n\r\n" +
		`{"status":"stored","id":42}`)

	// Requests held in flight across the start of the drain, and one idle keep-alive connection.
	holders := make([]net.Conn, 4)
	for i := range holders {
		holders[i] = dialRaw(t, srv, pool)
		_, _ = io.WriteString(holders[i], hold)
		<-held
	}
	idle := c

	// A storm of keep-alive clients; Shutdown starts in the middle of it.
	var replies, bad atomic.Int64
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for {
				conn, err := dial()
				if err != nil {
					return // refused: the drain has closed the listener
				}
				_ = conn.SetDeadline(time.Now().Add(patience))
				for {
					if _, err := io.WriteString(conn, req); err != nil {
						break
					}
					got := make([]byte, len(want))
					n, err := io.ReadFull(conn, got)
					if n == 0 && err != nil {
						break // closed or reset before the reply: allowed
					}
					if err != nil || !bytes.Equal(got, want) {
						bad.Add(1)
						t.Errorf("reply differs from the steady state: %q (%v)", got[:n], err)
						break
					}
					replies.Add(1)
				}
				_ = conn.Close()
			}
		})
	}
	runtest.WaitFor(t, "200 replies before Shutdown", func() bool { return replies.Load() >= 200 })
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(ctx) }()
	waitRefused(t, srv)
	close(release)
	for i, h := range holders {
		got, err := io.ReadAll(h)
		if !bytes.Equal(got, want) {
			t.Errorf("held request %d: reply %q (%v), want the steady-state bytes", i, got, err)
		}
	}
	if got, err := io.ReadAll(idle); len(got) > 0 || isTimeout(err) {
		t.Errorf("idle connection: %q %v, want it closed", got, err)
	}
	wg.Wait()
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := <-srv.Done(); err != nil {
		t.Errorf("Done: %v", err)
	}
	t.Logf("%d identical replies, %d different", replies.Load(), bad.Load())
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// h2Reply is what an h2 client can compare: status, header fields and body.
func h2Reply(t *testing.T, res *http.Response) string {
	t.Helper()
	body, err := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if err != nil {
		return "body error: " + err.Error()
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s %d\n", res.Proto, res.StatusCode)
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range res.Header {
			if !yield(k) {
				return
			}
		}
	}) {
		fmt.Fprintf(&sb, "%s: %s\n", k, strings.Join(res.Header[k], ", "))
	}
	sb.Write(body)
	return sb.String()
}

func h2Client(pool *x509.CertPool) *http.Client {
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool, NextProtos: []string{"h2"}},
		ForceAttemptHTTP2: true,
	}}
}

func TestServe_DrainHTTP2(t *testing.T) {
	held, release := make(chan struct{}), make(chan struct{})
	cfg, pool := testCert(t)
	srv := startServer(t, drainHandler(held, release), cfg)
	url := "https://" + srv.Addr().String()
	client := h2Client(pool)
	defer client.CloseIdleConnections()

	res, err := client.Post(url+"/miner-notifications", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	if res.ProtoMajor != 2 {
		t.Fatalf("protocol %s, want HTTP/2", res.Proto)
	}
	want := h2Reply(t, res)

	// Streams held in flight across the start of the drain, on the client's one h2 connection.
	heldReplies := make(chan string, 4)
	for range cap(heldReplies) {
		go func() {
			res, err := client.Post(url+"/hold", "application/json", strings.NewReader("{}"))
			if err != nil {
				heldReplies <- "error: " + err.Error()
				return
			}
			heldReplies <- h2Reply(t, res)
		}()
		<-held
	}

	var replies atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			c := h2Client(pool)
			defer c.CloseIdleConnections()
			for {
				res, err := c.Post(url+"/miner-notifications", "application/json", strings.NewReader("{}"))
				if err != nil {
					return // refused, GOAWAY or reset: allowed
				}
				if got := h2Reply(t, res); got != want {
					if strings.HasPrefix(got, "body error") {
						return
					}
					t.Errorf("reply differs from the steady state:\n%s\nwant\n%s", got, want)
					return
				}
				replies.Add(1)
			}
		})
	}
	runtest.WaitFor(t, "100 replies before Shutdown", func() bool { return replies.Load() >= 100 })
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(ctx) }()
	waitRefused(t, srv)
	close(release)
	for range cap(heldReplies) {
		if got := <-heldReplies; got != want {
			t.Errorf("held stream: reply\n%s\nwant the steady state\n%s", got, want)
		}
	}
	wg.Wait()
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	t.Logf("%d identical replies", replies.Load())
}
