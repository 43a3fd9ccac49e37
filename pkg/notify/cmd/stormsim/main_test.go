package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func TestRun(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"Identical", func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Date"] = nil
			_, _ = w.Write([]byte(`{"status":"received"}`))
		}, "13 copies → 200 ×13, identical replies"},
		{"Differ", func() http.HandlerFunc {
			var n atomic.Int64
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Request-Id", strings.Repeat("x", int(n.Add(1))))
				_, _ = w.Write([]byte(`{}`))
			}
		}(), "REPLIES DIFFER"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("X-API-Key") != "k" || r.Header.Get("Content-Type") != "application/json" {
					t.Errorf("headers %v", r.Header)
				}
				got.Add(1)
				tc.handler(w, r)
			}))
			defer srv.Close()
			var out strings.Builder
			args := []string{"-url", srv.URL, "-key", "k", "-miners", "m1,m2", "-tokens", "t1", "-count", "3", "-every", "1ms", "-jitter", "1ms"}
			if err := run(context.Background(), args, func(string) string { return "" }, &out, &out); err != nil {
				t.Fatal(err)
			}
			if got.Load() != 3*13 {
				t.Errorf("%d requests, want 39", got.Load())
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if len(lines) != 3 || !strings.Contains(lines[0], "token_connected") || !strings.Contains(lines[2], "mining_started") {
				t.Errorf("output:\n%s", out.String())
			}
			if !strings.Contains(lines[0], tc.want) {
				t.Errorf("got %q, want …%s…", lines[0], tc.want)
			}
		})
	}
}

func TestRun_ErrFlags(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), []string{"-key", "k"}, func(string) string { return "" }, &out, &out); err == nil {
		t.Error("no error without -miners and -tokens")
	}
}
