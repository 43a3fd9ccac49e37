package httpapi

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"canistry/pkg/httpserver"
	"canistry/pkg/registry"
)

// Logos come from canisters, so they are untrusted bytes. They are served only as an image type
// recognised from the bytes themselves (the media type the canister declared is not trusted),
// never as HTML, and always with a Content-Security-Policy that forbids every script, frame and
// fetch, plus nosniff so that no browser second-guesses the type.
const logoCSP = "default-src 'none'"

// logoType returns the media type to serve data as, or "" when data is not an image we serve.
// SVG is recognised only when the canister declared it; under logoCSP it cannot run script or
// load anything even when opened directly.
func logoType(data []byte, declared string) string {
	switch {
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return "image/png"
	case bytes.HasPrefix(data, []byte("\xff\xd8\xff")):
		return "image/jpeg"
	case bytes.HasPrefix(data, []byte("GIF87a")), bytes.HasPrefix(data, []byte("GIF89a")):
		return "image/gif"
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return "image/webp"
	case len(data) >= 12 && string(data[4:12]) == "ftypavif":
		return "image/avif"
	case bytes.HasPrefix(data, []byte("\x00\x00\x01\x00")):
		return "image/x-icon"
	case isSVG(data, declared):
		return "image/svg+xml"
	}
	return ""
}

func isSVG(data []byte, declared string) bool {
	if !strings.HasPrefix(strings.ToLower(declared), "image/svg+xml") {
		return false
	}
	head := bytes.TrimLeft(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), " \t\r\n")
	if len(head) > 1024 {
		head = head[:1024]
	}
	lower := bytes.ToLower(head)
	starts := bytes.HasPrefix(lower, []byte("<?xml")) || bytes.HasPrefix(lower, []byte("<svg")) ||
		bytes.HasPrefix(lower, []byte("<!--")) || bytes.HasPrefix(lower, []byte("<!doctype svg"))
	return starts && bytes.Contains(lower, []byte("<svg")) && !bytes.Contains(lower, []byte("<html"))
}

func (a *api) tokenLogo(c *gin.Context) {
	id, err := pathID(c, "id")
	if err != nil {
		a.werr(c, err)
		return
	}
	if q := newQuery(c); q.err != nil {
		a.werr(c, q.err)
		return
	}
	logo, err := a.d.Store.TokenLogo(c.Request.Context(), id)
	if err != nil {
		a.werr(c, err)
		return
	}
	mt := logoType(logo.Data, logo.MediaType)
	if mt == "" {
		a.werr(c, registry.Errorf(registry.ENOTFOUND, "the logo stored for %s is not an image this server serves", id))
		return
	}
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", logoCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Disposition", "inline")
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	h.Set("Cache-Control", "public, max-age=300")
	etag := `"` + logo.SHA256 + `"`
	h.Set("ETag", etag)
	if inm := c.GetHeader("If-None-Match"); inm != "" && httpserver.ETagMatches(inm, etag) {
		c.Status(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(logo.Data)))
	c.Data(http.StatusOK, mt, logo.Data)
}
