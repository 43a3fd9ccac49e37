package httpapi

import (
	"bytes"
	"net/http"

	"github.com/gin-gonic/gin"

	"canistry/pkg/httpserver"
)

// encoderMiddleware is httpserver's reply encoder (ETag, 304, gzip of the JSON reads) as a gin
// middleware: it buffers the reply of a GET or HEAD and sends it, encoded, when the handlers
// are done. A handler or the read cache leaves a body's encoded forms with httpserver.Remember
// on c.Writer.
func encoderMiddleware(re *httpserver.Encoder) gin.HandlerFunc {
	return func(c *gin.Context) {
		r := c.Request
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			c.Next()
			return
		}
		buf := re.Buffer()
		bw := &bufferedWriter{ResponseWriter: c.Writer, buf: buf}
		c.Writer = bw
		c.Next()
		c.Writer = bw.ResponseWriter
		re.Send(c.Writer, r, c.Writer.Status(), buf.Bytes(), bw.known) // nothing keeps buf's bytes after Send: the read cache copies its own
		c.Writer.WriteHeaderNow()
		re.Release(buf)
	}
}

// bufferedWriter keeps the body a handler writes; status and headers go to the gin writer
// underneath, which sends nothing before the first Write (or WriteHeaderNow).
type bufferedWriter struct {
	gin.ResponseWriter
	buf   *bytes.Buffer
	known *httpserver.Encoded
}

// RememberEncoded keeps e for Send (httpserver.Remember).
func (w *bufferedWriter) RememberEncoded(e *httpserver.Encoded) { w.known = e }

func (w *bufferedWriter) Write(p []byte) (int, error) { return w.buf.Write(p) }

func (w *bufferedWriter) WriteString(s string) (int, error) { return w.buf.WriteString(s) }

// WriteHeaderNow is deferred to Send: the encoder still changes headers.
func (w *bufferedWriter) WriteHeaderNow() {}

// Written reports whether anything was written, sent or not.
func (w *bufferedWriter) Written() bool { return w.buf.Len() > 0 || w.ResponseWriter.Written() }

// Size is the body size written so far.
func (w *bufferedWriter) Size() int { return w.buf.Len() }
