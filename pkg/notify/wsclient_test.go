package notify_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"canistry/pkg/notify"
	"canistry/pkg/ws"
)

// TestWSClientFiles: the notifier serves the JavaScript client of /ws and its declarations as
// embedded, with their media types, an ETag that a revalidation turns into a 304, and HEAD alike.
func TestWSClientFiles(t *testing.T) {
	h, err := notify.NewHandler(notify.HTTPDeps{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	get := func(method, path, inm string) (*http.Response, []byte) {
		req, _ := http.NewRequestWithContext(t.Context(), method, srv.URL+path, nil)
		if inm != "" {
			req.Header.Set("If-None-Match", inm)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, b
	}
	files := ws.ClientFiles()
	if len(files) != 2 {
		t.Fatalf("%d client files, want client.js and client.d.ts", len(files))
	}
	for _, f := range files {
		t.Run(f.Path, func(t *testing.T) {
			res, body := get("GET", f.Path, "")
			etag := res.Header.Get("ETag")
			if res.StatusCode != 200 || !bytes.Equal(body, f.Body) || len(body) < 1000 || etag == "" {
				t.Fatalf("GET %s = %d, %d bytes, ETag %q", f.Path, res.StatusCode, len(body), etag)
			}
			for k, want := range map[string]string{"Content-Type": f.ContentType, "Cache-Control": "no-cache",
				"X-Content-Type-Options": "nosniff", "Access-Control-Allow-Origin": "*"} {
				if got := res.Header.Get(k); got != want {
					t.Errorf("%s: %q, want %q", k, got, want)
				}
			}
			if res, body := get("GET", f.Path, etag); res.StatusCode != http.StatusNotModified || len(body) != 0 {
				t.Errorf("revalidation = %d with %d bytes, want 304", res.StatusCode, len(body))
			}
			if res, body := get("HEAD", f.Path, ""); res.StatusCode != 200 || len(body) != 0 || res.Header.Get("ETag") != etag {
				t.Errorf("HEAD = %d with %d bytes, ETag %q", res.StatusCode, len(body), res.Header.Get("ETag"))
			}
		})
	}
	if res, _ := get("GET", "/ws/nope.js", ""); res.StatusCode != http.StatusNotFound {
		t.Errorf("GET /ws/nope.js = %d, want 404", res.StatusCode)
	}
	if files[0].ContentType != "text/javascript; charset=utf-8" {
		t.Errorf("client.js is served as %q", files[0].ContentType)
	}
}
