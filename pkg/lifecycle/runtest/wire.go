package runtest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
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
