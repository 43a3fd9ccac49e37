package httpapi_test

import (
	"bytes"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"canistry/pkg/httpapi"
)

// TestEngine_RenderFailure: a reply that cannot be encoded (a float of +Inf) is answered 500
// with the error body and logged, not sent as a 200 with an empty body; a reply that renders
// is untouched.
func TestEngine_RenderFailure(t *testing.T) {
	var logs bytes.Buffer
	r := httpapi.NewEngine(slog.New(slog.NewTextHandler(&logs, nil)))
	r.GET("/inf", func(c *gin.Context) { c.JSON(http.StatusOK, map[string]float64{"share": math.Inf(1)}) })
	r.GET("/one", func(c *gin.Context) { c.JSON(http.StatusOK, map[string]float64{"share": 1}) })
	for _, tc := range []struct {
		path, body string
		status     int
	}{
		{"/inf", `{"error":{"code":"internal","message":"internal error"}}`, http.StatusInternalServerError},
		{"/one", `{"share":1}`, http.StatusOK},
	} {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, tc.path, nil))
		if w.Code != tc.status || w.Body.String() != tc.body {
			t.Errorf("GET %s: %d %q, want %d %q", tc.path, w.Code, w.Body, tc.status, tc.body)
		}
	}
	if !strings.Contains(logs.String(), "render the reply") {
		t.Errorf("the render failure was not logged: %s", logs.String())
	}
}
