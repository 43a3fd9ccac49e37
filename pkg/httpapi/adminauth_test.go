package httpapi_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"canistry/pkg/httpapi"
	"canistry/pkg/httpserver"
	"canistry/pkg/internal/testclock"
	"canistry/pkg/store"
)

// TestAPI_AdminKeyThrottle: with 3 failures a minute, a source's 4th wrong key within the minute
// and every bearer attempt after it (the right key and the status detail too) are 429 with
// Retry-After, logged once per window at WARN and counted; an IPv6 /64 is one source; other
// sources and the right key are unaffected; the window's end lifts it (injected clock).
func TestAPI_AdminKeyThrottle(t *testing.T) {
	const key = "throttle-admin-key-0123456789"
	clk := testclock.New(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
	st, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "registry.db"), store.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&syncWriter{w: &logs}, nil))
	reg := httpserver.NewMetricsRegistry()
	srv := httptest.NewServer(httpapi.NewAPIHandler(httpapi.APIDeps{Store: st, Logger: logger, Now: clk.Now,
		Probes: httpserver.Probes{Metrics: reg}, Status: httpapi.StatusDeps{Store: st, AdminAPIKey: key},
		AdminAPIKey: key, AdminAuthFailures: 3, AdminAuthWindow: time.Minute}))
	t.Cleanup(srv.Close)

	// try sends a write (DELETE of an unknown module hash: 404 once the key is accepted).
	try := func(source, bearer string) (int, string) {
		t.Helper()
		return authRequest(t, srv.URL+"/module-hashes/"+strings.Repeat("ab", 32), http.MethodDelete, source, bearer)
	}
	const a, b = "203.0.113.7", "198.51.100.9"
	for i := range 3 {
		if code, _ := try(a, "wrong-key-"+string(rune('a'+i))); code != http.StatusForbidden {
			t.Fatalf("wrong key %d = %d, want 403", i+1, code)
		}
	}
	for _, k := range []string{"wrong-key-d", key} {
		if code, retry := try(a, k); code != http.StatusTooManyRequests || retry != "60" {
			t.Errorf("throttled source with key %q = %d Retry-After %q, want 429 60", k, code, retry)
		}
	}
	if code, _ := authRequest(t, srv.URL+"/system/status", http.MethodGet, a, "wrong"); code != http.StatusTooManyRequests {
		t.Errorf("status detail from the throttled source = %d, want 429", code)
	}
	// Another source, and the right key, are not affected; successes are not counted.
	for range 10 {
		if code, _ := try(b, key); code != http.StatusNotFound {
			t.Fatalf("right key from another source = %d, want 404 (accepted)", code)
		}
	}
	if code, _ := try(b, "wrong"); code != http.StatusForbidden {
		t.Errorf("first wrong key from another source = %d, want 403", code)
	}
	// One IPv6 /64 is one source.
	for i, src := range []string{"2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::3"} {
		if code, _ := try(src, "wrong"); code != http.StatusForbidden {
			t.Fatalf("wrong key %d from the /64 = %d, want 403", i+1, code)
		}
	}
	if code, _ := try("2001:db8:1:2::4", key); code != http.StatusTooManyRequests {
		t.Errorf("fourth address of the throttled /64 = %d, want 429", code)
	}
	if code, _ := try("2001:db8:1:3::1", key); code != http.StatusNotFound {
		t.Errorf("the next /64 = %d, want 404", code)
	}

	clk.Advance(30 * time.Second)
	if code, retry := try(a, key); code != http.StatusTooManyRequests || retry != "30" {
		t.Errorf("30 s later = %d Retry-After %q, want 429 30", code, retry)
	}
	clk.Advance(30 * time.Second)
	if code, _ := try(a, key); code != http.StatusNotFound {
		t.Errorf("after the window = %d, want 404 (accepted)", code)
	}
	for range 3 {
		try(a, "wrong")
	}
	try(a, "wrong") // throttled again: a new window, logged again

	if got := strings.Count(logs.String(), `"msg":"admin key: too many wrong keys`); got != 3 {
		t.Errorf("%d WARN records, want 3 (source a twice, one per window; the /64 once):\n%s", got, logs.String())
	}
	if got, want := counterValue(t, reg, "canistry_admin_auth_failures_total", "throttled"), 6.0; got != want {
		t.Errorf("throttled count = %v, want %v", got, want)
	}
	if got, want := counterValue(t, reg, "canistry_admin_auth_failures_total", "wrong_key"), 3.0+1+3+3; got != want {
		t.Errorf("wrong_key count = %v, want %v", got, want)
	}
}

// authRequest sends method url from source (X-Forwarded-For, believed from loopback) with the
// bearer token, and returns the status and Retry-After.
func authRequest(t *testing.T, url, method, source, bearer string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Forwarded-For", source)
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusTooManyRequests {
		var e struct{ Error struct{ Code string } }
		if json.NewDecoder(resp.Body).Decode(&e) != nil || e.Error.Code != "too_many" {
			t.Errorf("429 body code %q, want too_many", e.Error.Code)
		}
	}
	return resp.StatusCode, resp.Header.Get("Retry-After")
}

// syncWriter serialises writes to w (the handler logs from several goroutines).
type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// counterValue returns the value of the counter name with result=label in reg.
func counterValue(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == label {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no %s{result=%q}", name, label)
	return 0
}
