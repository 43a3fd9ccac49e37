package ictest_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"canistry/pkg/ic/ictest"

	"github.com/aviate-labs/agent-go"
)

// TestServer_Call makes update calls with agent-go through /api/v4 call (sharded canister
// ranges in the delegation) and, with its legacy API, /api/v3 call (legacy ranges): a reply
// and a certified reject both verify.
func TestServer_Call(t *testing.T) {
	s := ictest.NewServer(t)
	s.AddCanister(canister, make([]byte, 32)).Reply("hello", "world")
	u, err := url.Parse(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opts []agent.ClientOption
	}{
		{"V4", nil},
		{"V3Legacy", []agent.ClientOption{agent.WithLegacyAPI()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := agent.New(agent.Config{FetchRootKey: true, ClientConfig: append([]agent.ClientOption{
				agent.WithHostURL(u), agent.WithHttpClient(&http.Client{Timeout: 10 * time.Second})}, tc.opts...)})
			if err != nil {
				t.Fatal(err)
			}
			before := s.Requests(ictest.RequestCall)
			var got string
			if err := a.Call(canister, "hello", nil, []any{&got}); err != nil {
				t.Fatalf("call: %v", err)
			}
			if got != "world" {
				t.Fatalf("reply = %q, want world", got)
			}
			err = a.Call(canister, "missing", nil, []any{&got})
			if err == nil || !strings.Contains(err.Error(), "IC0536") {
				t.Fatalf("call of a missing method: err = %v, want the certified reject IC0536", err)
			}
			if n := s.Requests(ictest.RequestCall) - before; n != 2 {
				t.Fatalf("calls counted = %d, want 2", n)
			}
		})
	}
}
