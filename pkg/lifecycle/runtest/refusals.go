package runtest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// Refusal is a request a running binary must refuse: status Want, in the one error shape
// ({"error":{"code","message"}}) with code Code and a message containing Says.
type Refusal struct {
	Method, Path string
	Header       []string // name, value pairs
	Body         string
	Want         int
	Code, Says   string
}

// CheckRefusals sends each request to base (http://host:port) as a subtest and checks its
// refusal. Paths go on the wire as written (escapes kept).
func CheckRefusals(t *testing.T, base string, cases []Refusal) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.Method+" "+c.Path, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), c.Method, base+c.Path, strings.NewReader(c.Body))
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i+1 < len(c.Header); i += 2 {
				req.Header.Set(c.Header[i], c.Header[i+1])
			}
			client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			res, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			var e struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			dec := json.NewDecoder(strings.NewReader(string(body)))
			dec.DisallowUnknownFields()
			if res.StatusCode != c.Want || dec.Decode(&e) != nil || e.Error.Code != c.Code || !strings.Contains(e.Error.Message, c.Says) {
				t.Errorf("%d %s, want %d %s containing %q", res.StatusCode, body, c.Want, c.Code, c.Says)
			}
		})
	}
}
