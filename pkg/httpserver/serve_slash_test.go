package httpserver_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"canistry/pkg/httperror"
)

// TestServe_EncodedSlash: a path with an encoded slash never reaches the handler, whose router
// would see the decoded path (a match, or a trailing slash to redirect): it is a 400 in the one
// error shape. Other escapes pass.
func TestServe_EncodedSlash(t *testing.T) {
	var reached atomic.Int64
	srv := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}), nil)
	base := "http://" + srv.Addr().String()
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/canisters%2Fryjl3-tyaaa-aaaaa-aaaba-cai", 400},
		{"PUT", "/module-hashes/abc%2F", 400},
		{"GET", "/canisters/ryjl3-tyaaa-aaaaa-aaaba-cai%2fhistory", 400},
		{"DELETE", "/module-hashes/%2F", 400},
		{"GET", "/ws%2F", 400},
		{"GET", "/a%252Fb", 204}, // an escaped percent sign: the path is /a%2Fb, no slash
		{"GET", "/canisters%20x", 204},
		{"GET", "/canisters/ryjl3-tyaaa-aaaaa-aaaba-cai", 204},
		{"GET", "/canisters?q=a%2Fb", 204}, // the query is not the path
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			before := reached.Load()
			req, err := http.NewRequestWithContext(t.Context(), tc.method, base+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tc.want {
				t.Fatalf("%d %s, want %d", res.StatusCode, body, tc.want)
			}
			if tc.want != 400 {
				return
			}
			var e httperror.Body
			dec := json.NewDecoder(strings.NewReader(string(body)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&e); err != nil || e.Error.Code != "invalid" || !strings.Contains(e.Error.Message, "encoded slash") {
				t.Errorf("body %s, want the one error shape, invalid, naming the encoded slash", body)
			}
			if reached.Load() != before {
				t.Error("the handler was reached")
			}
		})
	}
}
