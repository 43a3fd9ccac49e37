//go:build !linux

package ws

import "errors"

// poller is Linux's epoll reader (poll_linux.go); elsewhere every client gets a reader
// goroutine.
type poller struct{}

var errNotSocket = errors.New("no poller on this system")

func newPoller() (*poller, error) { return nil, nil }

func (*poller) add(*client) error { return errNotSocket }
func (*poller) forget(*client)    {}
func (*poller) close()            {}
