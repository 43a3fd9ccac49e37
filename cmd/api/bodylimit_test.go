package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"canistry/pkg/httpapi"
	"canistry/pkg/lifecycle/runtest"
)

// TestRun_BodyLimit sends the real api bodies over its limit: a declared 10 GB body is refused
// from its Content-Length alone (the client sends no byte of it and waits; before, the api
// waited for the body until the read timeout), with or without Expect: 100-continue; a chunked
// body is cut off at the limit. Each is 413 too_large, and the connection closes.
func TestRun_BodyLimit(t *testing.T) {
	const adminKey = "body-limit-admin-key-0123456789"
	env := baseEnv(t)
	env["ADMIN_API_KEY"] = adminKey
	p := runtest.Start(t, run, env)
	runtest.WaitHTTP(t, p.URL("/readyz"), http.StatusOK)

	head := "POST /canisters HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + adminKey + "\r\nContent-Type: application/json\r\n"
	huge := `{"pad":"` + strings.Repeat("x", 4096) + `"}`
	chunk := fmt.Sprintf("%x\r\n%s\r\n", len(huge), huge)
	for _, tc := range []struct{ name, req string }{
		{"DeclaredHuge", head + "Content-Length: 10000000000\r\n\r\n"},
		{"DeclaredHugeExpectContinue", head + "Content-Length: 10000000000\r\nExpect: 100-continue\r\n\r\n"},
		{"DeclaredJustOver", head + fmt.Sprintf("Content-Length: %d\r\n\r\n", httpapi.MaxBodyBytes+1)},
		{"Chunked", head + "Transfer-Encoding: chunked\r\n\r\n" + strings.Repeat(chunk, httpapi.MaxBodyBytes/len(huge)+2) + "0\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", p.Addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(runtest.Patience))
			go func() { _, _ = io.WriteString(c, tc.req) }()
			br := bufio.NewReader(c)
			if status, code := runtest.ReadJSONError(t, br); status != http.StatusRequestEntityTooLarge || code != "too_large" {
				t.Errorf("got %d %s, want 413 too_large", status, code)
			}
			runtest.ExpectClosed(t, br)
		})
	}
}
