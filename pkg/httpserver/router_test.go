package httpserver_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"canistry/pkg/httpserver"
)

// TestRouter answers as the api's gin router does: GET answers HEAD, another method on a known
// path is 405 with Allow in registration order, an unknown path 404, a trailing-slash variant
// of a route a redirect (301 for GET, 307 otherwise), all errors in the one JSON shape.
func TestRouter(t *testing.T) {
	rt := httpserver.NewRouter()
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	rt.GET("/a", ok)
	rt.Handle(http.MethodPost, "/b", ok)
	tests := []struct {
		method, path string
		status       int
		allow, loc   string
		body         string
		route        string
	}{
		{"GET", "/a", 200, "", "", "ok", "/a"},
		{"HEAD", "/a", 200, "", "", "ok", "/a"},
		{"POST", "/b", 200, "", "", "ok", "/b"},
		{"DELETE", "/a", 405, "GET, HEAD", "", `{"error":{"code":"invalid","message":"method DELETE is not allowed; use GET, HEAD"}}`, httpserver.UnmatchedRoute},
		{"GET", "/b", 405, "POST", "", `{"error":{"code":"invalid","message":"method GET is not allowed; use POST"}}`, httpserver.UnmatchedRoute},
		{"GET", "/c", 404, "", "", `{"error":{"code":"not_found","message":"no route /c"}}`, httpserver.UnmatchedRoute},
		{"GET", "/a/", 301, "", "/a", "", httpserver.UnmatchedRoute},
		{"POST", "/b/", 307, "", "/b", "", httpserver.UnmatchedRoute},
	}
	for _, tc := range tests {
		t.Run(tc.method+tc.path, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.path, nil)
			w := httptest.NewRecorder()
			rt.ServeHTTP(w, r)
			if w.Code != tc.status || w.Header().Get("Allow") != tc.allow || w.Header().Get("Location") != tc.loc {
				t.Errorf("%d Allow %q Location %q, want %d %q %q", w.Code, w.Header().Get("Allow"), w.Header().Get("Location"), tc.status, tc.allow, tc.loc)
			}
			if tc.body != "" && w.Body.String() != tc.body {
				t.Errorf("body %s, want %s", w.Body, tc.body)
			}
			if got := rt.Route(r); got != tc.route {
				t.Errorf("Route = %q, want %q", got, tc.route)
			}
		})
	}
	if got, want := rt.Routes(), []string{"GET /a", "HEAD /a", "POST /b"}; !slices.Equal(got, want) {
		t.Errorf("Routes = %v, want %v", got, want)
	}
}
