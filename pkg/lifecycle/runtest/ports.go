package runtest

import (
	"net"
	"strconv"
	"sync"
	"testing"
)

// handedOut remembers every port FreePort returned in this test process: the kernel may give
// a just-closed ephemeral port again, and two servers of one test must never get the same one.
var handedOut = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

// FreePort returns a TCP port that is free on 127.0.0.1 (and on [::1] when dual) and that no
// earlier call in this process returned. The port is closed again: the server under test binds
// it itself.
func FreePort(tb testing.TB, dual bool) int {
	tb.Helper()
	handedOut.Lock()
	defer handedOut.Unlock()
	for range 50 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if handedOut.ports[port] {
			continue
		}
		if dual {
			ln6, err := net.Listen("tcp6", net.JoinHostPort("::1", strconv.Itoa(port)))
			if err != nil {
				continue
			}
			ln6.Close()
		}
		handedOut.ports[port] = true
		return port
	}
	tb.Fatal("no free port found")
	return 0
}
