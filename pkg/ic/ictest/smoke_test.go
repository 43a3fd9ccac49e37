package ictest_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"canistry/pkg/ic/ictest"
	"github.com/aviate-labs/agent-go"
	"github.com/aviate-labs/agent-go/principal"
)

func TestSmoke(t *testing.T) {
	s := ictest.NewServer(t)
	id := principal.MustDecode("ryjl3-tyaaa-aaaaa-aaaba-cai")
	c := s.AddCanister(id, make([]byte, 32), id)
	c.Reply("hello", "world")
	u, _ := url.Parse(s.URL())
	a, err := agent.New(agent.Config{FetchRootKey: true, ClientConfig: []agent.ClientOption{agent.WithHostURL(u), agent.WithHttpClient(&http.Client{Timeout: 5 * time.Second})}})
	if err != nil {
		t.Fatal(err)
	}
	var out string
	if err := a.QueryWithContext(t.Context(), id, "hello", nil, []any{&out}); err != nil {
		t.Fatal(err)
	}
	t.Log(out)
	err = a.QueryWithContext(t.Context(), id, "nope", nil, []any{&out})
	t.Log(err)
	h, err := a.GetCanisterModuleHash(id)
	t.Log(h, err)
	cs, err := a.GetCanisterControllers(id)
	t.Log(cs, err)
}
