package httpapi_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestDashboard_HTTP: / and every /ui/ page answer the same shell, its script and style come
// from the binary, all under a CSP that allows only the page's own origin, nothing names
// another origin, and an unknown asset is a JSON 404 in the one error shape.
func TestDashboard_HTTP(t *testing.T) {
	a := newTestAPI(t, apiOptions{})
	shell := wireGet(t, "GET", a.URL+"/")
	for _, tc := range []struct{ path, mediaType string }{
		{"/", "text/html"}, {"/ui/canisters?kind=token", "text/html"}, {"/ui/miners/rrkah-fqaaa-aaaaa-aaaaq-cai?range=7d", "text/html"},
		{"/ui/no-such-page", "text/html"}, {"/ui/assets/app.js", "text/javascript"}, {"/ui/assets/app.css", "text/css"},
		{"/ui/assets/charts.js", "text/javascript"}, {"/ui/assets/wallets.js", "text/javascript"}, {"/ui/assets/vendor/uPlot.iife.min.js", "text/javascript"},
		{"/ui/assets/vendor/uPlot.min.css", "text/css"}, {"/ui/assets/vendor/LICENSE", "text/plain"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			r := wireGet(t, "GET", a.URL+tc.path)
			if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), tc.mediaType) {
				t.Fatalf("%d %q", r.Status, r.Header.Get("Content-Type"))
			}
			csp := r.Header.Get("Content-Security-Policy")
			for _, want := range []string{"default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP %q lacks %s", csp, want)
				}
			}
			if strings.Contains(csp, "http") || strings.Contains(csp, "unsafe") {
				t.Errorf("CSP %q names another origin or unsafe sources", csp)
			}
			body := strings.ReplaceAll(string(r.Body), "'http://www.w3.org/2000/svg'", "") // a namespace name, not a load
			body = strings.ReplaceAll(body, "/*! https://github.com/leeoniya/uPlot ", "")  // uPlot's banner comment
			if strings.Contains(body, "http://") || strings.Contains(body, "https://") || strings.Contains(body, "//cdn") {
				t.Errorf("%s refers to another origin", tc.path)
			}
			if tc.mediaType == "text/html" && string(r.Body) != string(shell.Body) {
				t.Errorf("%s is not the shell", tc.path)
			}
		})
	}
	// The icon answers on its own (a page load must not log a 404 for /favicon.ico).
	for path, mediaType := range map[string]string{"/favicon.ico": "image/x-icon", "/favicon.svg": "image/svg+xml"} {
		if r := wireGet(t, "GET", a.URL+path); r.Status != http.StatusOK || r.Header.Get("Content-Type") != mediaType || len(r.Body) < 100 {
			t.Errorf("%s: %d %q, %d bytes", path, r.Status, r.Header.Get("Content-Type"), len(r.Body))
		}
	}
	t.Run("GzipAndETag", func(t *testing.T) {
		client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
		get := func(header ...string) (*http.Response, []byte) {
			t.Helper()
			req, _ := http.NewRequestWithContext(t.Context(), "GET", a.URL+"/ui/assets/app.js", nil)
			for i := 0; i+1 < len(header); i += 2 {
				req.Header.Set(header[i], header[i+1])
			}
			res, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			return res, body
		}
		plain, body := get()
		zipped, zbody := get("Accept-Encoding", "gzip")
		if plain.Header.Get("Content-Encoding") != "" || zipped.Header.Get("Content-Encoding") != "gzip" ||
			zipped.Header.Get("Vary") != "Accept-Encoding" || len(zbody) >= len(body)/2 {
			t.Fatalf("plain %d bytes %q, gzip %d bytes %q", len(body), plain.Header.Get("Content-Encoding"), len(zbody), zipped.Header.Get("Content-Encoding"))
		}
		zr, err := gzip.NewReader(bytes.NewReader(zbody))
		if err != nil {
			t.Fatal(err)
		}
		unzipped, _ := io.ReadAll(zr)
		if !bytes.Equal(unzipped, body) {
			t.Error("the gzipped script is not the script")
		}
		etag := plain.Header.Get("ETag")
		if etag == "" || zipped.Header.Get("ETag") != etag {
			t.Fatalf("ETag %q and %q", etag, zipped.Header.Get("ETag"))
		}
		if res, b := get("If-None-Match", etag); res.StatusCode != http.StatusNotModified || len(b) != 0 {
			t.Errorf("If-None-Match: %d with %d bytes, want 304 and none", res.StatusCode, len(b))
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		r := a.do("GET", "/ui/assets/nope.js", nil)
		if r.Status != http.StatusNotFound || r.ErrorCode(t) != "not_found" {
			t.Errorf("%d %s", r.Status, r.Body)
		}
	})
}
