package httpapi_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/gin-gonic/gin"

	"canistry/pkg/httpapi"
	"canistry/pkg/store"
)

// BenchmarkReplyEncoder measures what the reply encoder (ETag, 304, gzip) adds to a JSON read,
// against the same gin route without it in the same run, for the real bodies of
// GET /canisters?limit=500 (about 290 KB) and GET /canisters/{id} (under 1 KiB, never gzipped)
// from the 100k-canister database of BenchmarkAPI_Loopback. Requests go straight to the engine
// (no sockets), so the figures are the middleware's CPU. "gzip" compresses on every request
// (a read-cache miss); "gzip_cached" serves the compressed form the read cache keeps;
// "api_cached_*" is the whole real router answering the list from its read cache.
// It also reports the list's gzip ratio as the real api serves it.
func BenchmarkReplyEncoder(b *testing.B) {
	path := filepath.Join(b.TempDir(), "registry.db")
	st, err := store.Open(b.Context(), path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	seedBench(b, path)
	api := httpapi.NewAPIHandler(httpapi.APIDeps{Store: st, Logger: slog.New(slog.DiscardHandler), Status: httpapi.StatusDeps{Store: st}})
	get := func(target, accept string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, target, nil)
		if accept != "" {
			req.Header.Set("Accept-Encoding", accept)
		}
		w := httptest.NewRecorder()
		api.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("%s: %d %s", target, w.Code, w.Body)
		}
		return w
	}
	list := get("/canisters?limit=500", "").Body.Bytes()
	listGz := get("/canisters?limit=500", "gzip")
	if plain := gunzip(b, listGz.Body.Bytes()); !bytes.Equal(plain, list) {
		b.Fatal("the gzipped list does not decode to the plain one")
	}
	var page struct {
		Items []struct {
			CanisterID string `json:"canister_id"`
		}
	}
	if err := json.Unmarshal(list, &page); err != nil || len(page.Items) == 0 {
		b.Fatalf("list: %v", err)
	}
	one := get("/canisters/"+page.Items[0].CanisterID, "").Body.Bytes()
	b.Run("list/size", func(b *testing.B) { // the figures, once: a sub-benchmark's metrics are what go test prints
		for range b.N {
		}
		b.ReportMetric(float64(len(list)), "plain_B")
		b.ReportMetric(float64(listGz.Body.Len()), "gzip_B")
		b.ReportMetric(float64(len(list))/float64(listGz.Body.Len()), "gzip_ratio")
	})

	encoder, remember := httpapi.ReplyEncoder()
	gin.SetMode(gin.ReleaseMode)
	engine := func(mw ...gin.HandlerFunc) *gin.Engine {
		e := gin.New()
		e.Use(mw...)
		for path, body := range map[string][]byte{"/list": list, "/one": one} {
			e.GET(path, func(c *gin.Context) { c.Data(http.StatusOK, "application/json", body) })
			e.GET("/cached"+path, func(c *gin.Context) {
				remember(c, body)
				c.Data(http.StatusOK, "application/json", body)
			})
		}
		return e
	}
	bare, encoded := engine(), engine(encoder)
	etags := map[string]string{}
	for _, p := range []string{"/list", "/one"} {
		w := httptest.NewRecorder()
		encoded.ServeHTTP(w, httptest.NewRequest(http.MethodGet, p, nil))
		etags[p] = w.Header().Get("ETag")
	}
	for _, bc := range []struct {
		name, path  string
		h           http.Handler
		header      []string
		wantGzipped bool
	}{
		{"list/bare", "/list", bare, nil, false},
		{"list/etag", "/list", encoded, nil, false},
		{"list/etag_cached", "/cached/list", encoded, nil, false},
		{"list/gzip", "/list", encoded, []string{"Accept-Encoding", "gzip"}, true},
		{"list/gzip_cached", "/cached/list", encoded, []string{"Accept-Encoding", "gzip"}, true},
		{"list/304_cached", "/cached/list", encoded, []string{"If-None-Match", etags["/list"]}, false},
		{"list/api_cached_plain", "/canisters?limit=500", api, nil, false},
		{"list/api_cached_gzip", "/canisters?limit=500", api, []string{"Accept-Encoding", "gzip"}, true},
		{"one/bare", "/one", bare, nil, false},
		{"one/etag", "/one", encoded, []string{"Accept-Encoding", "gzip"}, false},
		{"one/304", "/one", encoded, []string{"If-None-Match", etags["/one"]}, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, bc.path, nil)
			for i := 0; i+1 < len(bc.header); i += 2 {
				req.Header.Set(bc.header[i], bc.header[i+1])
			}
			w := &discardRecorder{header: http.Header{}}
			bc.h.ServeHTTP(w, req)
			if got := w.header.Get("Content-Encoding") == "gzip"; got != bc.wantGzipped {
				b.Fatalf("gzipped %v, want %v", got, bc.wantGzipped)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				clear(w.header)
				bc.h.ServeHTTP(w, req)
			}
		})
	}
}

// discardRecorder is a ResponseWriter that keeps headers and drops the body, so the
// benchmark measures the handler, not a growing buffer.
type discardRecorder struct {
	header http.Header
	status int
}

func (w *discardRecorder) Header() http.Header         { return w.header }
func (w *discardRecorder) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardRecorder) WriteHeader(code int)        { w.status = code }
