// Package relaytest is the local upstream of the relay's tests: an HTTP server that counts
// the calls it gets and answers with volatile headers (Date, X-Request-Id, Set-Cookie) and
// volatile JSON fields (created, request_id), so that only a relay that calls it once and
// replays one stored reply gives byte-identical replies.
package relaytest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Upstream is the counting upstream. Its routes:
//
//	/echo            200 JSON: n (this call's number), created, request_id, method, path, query, body, headers
//	/slow?ms=N       /echo after N ms
//	/hold            /echo once Release is called (Arrived is told first)
//	/redirect        302 to /echo
//	/big?n=N         200 with N bytes
type Upstream struct {
	*httptest.Server
	mu      sync.Mutex
	calls   map[string]int // by "METHOD /path"
	headers []http.Header
	arrived chan string
	release chan struct{}
	once    sync.Once
}

// New starts an upstream on loopback (TLS when tls is set, with httptest's own certificate,
// which no relay trusts: the TLS failure).
func New(tls bool) *Upstream {
	u := &Upstream{calls: map[string]int{}, arrived: make(chan string, 64), release: make(chan struct{})}
	if tls {
		u.Server = httptest.NewTLSServer(u)
	} else {
		u.Server = httptest.NewServer(u)
	}
	return u
}

// ServeHTTP answers one call.
func (u *Upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := u.count(r)
	body, _ := io.ReadAll(r.Body)
	switch {
	case r.URL.Path == "/slow":
		ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
		case <-r.Context().Done():
			return
		}
	case r.URL.Path == "/hold":
		u.arrived <- r.Method + " " + r.URL.Path
		select {
		case <-u.release:
		case <-r.Context().Done():
			return
		}
	case r.URL.Path == "/redirect":
		http.Redirect(w, r, "/echo", http.StatusFound)
		return
	case r.URL.Path == "/big":
		size, _ := strconv.Atoi(r.URL.Query().Get("n"))
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte(strings.Repeat("x", size)))
		return
	}
	w.Header().Set("X-Request-Id", random())
	w.Header().Set("Set-Cookie", "session="+random())
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(map[string]any{"n": n, "created": time.Now().UnixNano(), "request_id": random(),
		"method": r.Method, "path": r.URL.EscapedPath(), "query": r.URL.RawQuery, "body": string(body),
		"stable": map[string]any{"id": 7, "volatile": random()}})
}

func (u *Upstream) count(r *http.Request) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	k := r.Method + " " + r.URL.Path
	u.calls[k]++
	u.headers = append(u.headers, r.Header.Clone())
	return u.calls[k]
}

// Calls returns how many calls "METHOD /path" got.
func (u *Upstream) Calls(methodPath string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.calls[methodPath]
}

// Total returns how many calls it got in all.
func (u *Upstream) Total() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	n := 0
	for _, c := range u.calls {
		n += c
	}
	return n
}

// Headers returns the headers of every call received, in order.
func (u *Upstream) Headers() []http.Header {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]http.Header(nil), u.headers...)
}

// Arrived delivers "METHOD /hold" when a call reaches /hold.
func (u *Upstream) Arrived() <-chan string { return u.arrived }

// Release lets every held call (and every later one) answer.
func (u *Upstream) Release() { u.once.Do(func() { close(u.release) }) }

func random() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Close releases held calls and stops the server.
func (u *Upstream) Close() {
	u.Release()
	u.Server.Close()
}
