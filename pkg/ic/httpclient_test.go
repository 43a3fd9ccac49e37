package ic_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"canistry/pkg/ic"
)

// TestNewHTTPClient_ReusesConnections sends rounds of 300 requests that are all in flight at
// once (the server answers none until all have arrived), more than http.DefaultTransport's 100
// idle connections: the first round dials a connection per request, the next rounds dial none.
func TestNewHTTPClient_ReusesConnections(t *testing.T) {
	const inFlight = 300
	var (
		mu      sync.Mutex
		arrived int
		release = make(chan struct{})
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if arrived++; arrived == inFlight {
			close(release)
		}
		ch := release
		mu.Unlock()
		<-ch
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	hc := ic.NewHTTPClient(0)
	tr := hc.Transport.(*http.Transport)
	var dials atomic.Int64
	dial := tr.DialContext
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return dial(ctx, network, addr)
	}
	for round := range 3 {
		mu.Lock()
		arrived, release = 0, make(chan struct{})
		mu.Unlock()
		var wg sync.WaitGroup
		errs := make([]error, inFlight)
		for i := range inFlight {
			wg.Go(func() {
				resp, err := hc.Get(srv.URL)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
				}
				errs[i] = err
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if got := dials.Load(); got != inFlight {
			t.Fatalf("after round %d: %d connections dialled, want %d (one per request in flight, reused after)", round, got, inFlight)
		}
	}
}
