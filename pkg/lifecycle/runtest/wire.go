package runtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"canistry/pkg/httperror"
)

// RoundTrip writes req on the keep-alive connection c (read through r) and reads one response
// (headers and a Content-Length body) as its exact bytes, for tests that compare replies byte
// for byte.
func RoundTrip(c net.Conn, r *bufio.Reader, req []byte) ([]byte, error) {
	if _, err := c.Write(req); err != nil {
		return nil, err
	}
	var raw bytes.Buffer
	length := -1
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		raw.WriteString(line)
		if line == "\r\n" {
			break
		}
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && strings.EqualFold(k, "Content-Length") {
			length, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	if length < 0 {
		return nil, fmt.Errorf("reply without Content-Length: %q", raw.String())
	}
	_, err := io.CopyN(&raw, r, int64(length))
	return raw.Bytes(), err
}

// Storm keeps outcall copies coming over keep-alive connections from several workers until
// Stop, recording every reply by key; a copy that gets no reply (connection refused, reset or
// closed) is counted as refused and the worker dials again.
type Storm struct {
	mu       sync.Mutex
	replies  map[string][][]byte
	answered atomic.Int64
	refused  atomic.Int64
	stop     chan struct{}
	wg       sync.WaitGroup
}

// StartStorm starts workers goroutines sending next(worker, i) to addr: the key the reply is
// recorded under and the raw request.
func StartStorm(addr string, workers int, next func(worker, i int) (key string, req []byte)) *Storm {
	s := &Storm{replies: map[string][][]byte{}, stop: make(chan struct{})}
	for w := range workers {
		s.wg.Go(func() { s.work(addr, w, next) })
	}
	return s
}

func (s *Storm) work(addr string, w int, next func(worker, i int) (string, []byte)) {
	var c net.Conn
	var r *bufio.Reader
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	for i := 0; ; i++ {
		select {
		case <-s.stop:
			return
		default:
		}
		if c == nil {
			var err error
			if c, err = net.DialTimeout("tcp", addr, time.Second); err != nil {
				s.refused.Add(1)
				select { // back off before dialling again, unless the storm is over
				case <-s.stop:
					return
				case <-time.After(5 * time.Millisecond):
				}
				continue
			}
			_ = c.SetDeadline(time.Now().Add(30 * time.Second))
			r = bufio.NewReader(c)
		}
		key, req := next(w, i)
		resp, err := RoundTrip(c, r, req)
		if err != nil {
			s.refused.Add(1)
			c.Close()
			c = nil
			continue
		}
		s.answered.Add(1)
		s.mu.Lock()
		s.replies[key] = append(s.replies[key], resp)
		s.mu.Unlock()
	}
}

// Answered is how many copies got a reply so far.
func (s *Storm) Answered() int64 { return s.answered.Load() }

// Stop ends the storm and returns every reply by key and how many copies were refused.
func (s *Storm) Stop() (map[string][][]byte, int64) {
	close(s.stop)
	s.wg.Wait()
	return s.replies, s.refused.Load()
}

// CheckIdenticalPerKey fails tb unless every key's replies are byte-identical 200s with no
// Connection or Date header: the bytes of an outcall reply never depend on the server's state.
func CheckIdenticalPerKey(tb testing.TB, replies map[string][][]byte) {
	tb.Helper()
	for key, rs := range replies {
		for i, r := range rs {
			if !bytes.Equal(r, rs[0]) {
				tb.Fatalf("key %s: reply %d of %d differs:\n%q\nvs the first:\n%q", key, i, len(rs), r, rs[0])
			}
		}
		lower := bytes.ToLower(rs[0])
		if !bytes.HasPrefix(rs[0], []byte("HTTP/1.1 200 OK\r\n")) || bytes.Contains(lower, []byte("\r\nconnection:")) ||
			bytes.Contains(lower, []byte("\r\ndate:")) {
			tb.Errorf("key %s: reply %q", key, rs[0])
		}
	}
}

// ReadJSONError reads one reply from br and checks that it is a JSON error with a correct
// Content-Length; it returns the status and the error code.
func ReadJSONError(t testing.TB, br *bufio.Reader) (int, string) {
	t.Helper()
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("read reply: %v", err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	if got := res.Header.Get("Content-Length"); got != strconv.Itoa(len(body)) {
		t.Errorf("Content-Length %q, body has %d bytes", got, len(body))
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, body %q", ct, body)
	}
	var e httperror.Body
	if err := json.Unmarshal(body, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Errorf("body %q is not the JSON error shape (%v)", body, err)
	}
	return res.StatusCode, e.Error.Code
}

// ExpectClosed checks that nothing more arrives on br and that the server closed the
// connection.
func ExpectClosed(t testing.TB, br *bufio.Reader) {
	t.Helper()
	extra, err := io.ReadAll(br)
	if len(extra) > 0 {
		t.Errorf("bytes after the reply: %q", extra)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("connection still open after the reply")
	}
}
