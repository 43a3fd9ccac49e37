package webhook_test

import (
	"crypto/hmac"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"canistry/pkg/registry"
	"canistry/pkg/webhook"
)

// goReceiver is an in-process receiver for tests that count and order deliveries (the node
// receiver checks signatures against the reference implementation). It checks each signature
// with webhook.Sign and the endpoint's secret, set once the endpoint exists.
type goReceiver struct {
	srv *httptest.Server

	mu       sync.Mutex
	secret   string
	got      []int64 // event ids in arrival order
	byID     map[string]int
	inFlight int
	overlap  int // requests that arrived while another was in flight
	bad      int
}

func newGoReceiver(tb testing.TB) *goReceiver {
	tb.Helper()
	r := &goReceiver{byID: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	tb.Cleanup(r.srv.Close)
	return r
}

func (r *goReceiver) url() string { return r.srv.URL + "/hook" }

func (r *goReceiver) setSecret(s string) { r.mu.Lock(); r.secret = s; r.mu.Unlock() }

func (r *goReceiver) serve(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.inFlight++
	if r.inFlight > 1 {
		r.overlap++
	}
	secret := r.secret
	r.mu.Unlock()
	defer func() { r.mu.Lock(); r.inFlight--; r.mu.Unlock() }()

	body, _ := io.ReadAll(req.Body)
	id, ts := req.Header.Get("webhook-id"), req.Header.Get("webhook-timestamp")
	t, _ := strconv.ParseInt(ts, 10, 64)
	if secret != "" {
		want, err := webhook.Sign(secret, id, t, body)
		if err != nil || !hmac.Equal([]byte(want), []byte(req.Header.Get("webhook-signature"))) {
			r.mu.Lock()
			r.bad++
			r.mu.Unlock()
			http.Error(w, "bad signature", http.StatusBadRequest)
			return
		}
	}
	var e registry.Event
	if err := json.Unmarshal(body, &e); err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.got = append(r.got, e.ID)
	r.byID[id]++
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// ids returns the event ids received, in arrival order.
func (r *goReceiver) ids(tb testing.TB) []int64 {
	tb.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bad != 0 {
		tb.Fatalf("%d requests with a bad signature", r.bad)
	}
	return append([]int64(nil), r.got...)
}

func (r *goReceiver) count() int { r.mu.Lock(); defer r.mu.Unlock(); return len(r.got) }
