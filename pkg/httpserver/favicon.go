package httpserver

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"net/http"
)

// faviconSVG is canistry's icon: a blue rounded square with a white cross, the same picture
// as the ICO that Favicons draws.
const faviconSVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">` +
	`<rect width="32" height="32" rx="6" fill="#2a6ae0"/>` +
	`<path d="M8 16h16M16 8v16" stroke="#fff" stroke-width="4"/></svg>`

// Favicons answers GET /favicon.svg (the icon pages name with <link rel=icon>) and
// /favicon.ico (what browsers ask for on their own), so that no page load logs a 404. Both
// are cacheable for a day.
func Favicons() (svg, ico http.Handler) {
	const csp, cache = "default-src 'none'; style-src 'unsafe-inline'", "public, max-age=86400"
	return Static("image/svg+xml", csp, cache, []byte(faviconSVG)), Static("image/x-icon", csp, cache, faviconICO())
}

// Static answers with body as mediaType under the Content-Security-Policy csp and the
// Cache-Control cache, with nosniff: a file embedded in a binary.
func Static(mediaType, csp, cache string, body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", cache)
		h.Set("Content-Type", mediaType)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	})
}

// faviconICO draws the icon at 32×32 and wraps its PNG in an ICO container (one image; ICO
// may hold PNG data since Windows Vista, and every browser reads it).
func faviconICO() []byte {
	const n, r = 32, 6
	blue, white := color.NRGBA{0x2a, 0x6a, 0xe0, 0xff}, color.NRGBA{0xff, 0xff, 0xff, 0xff}
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	inCorner := func(x, y int) bool { // outside the rounded corner of radius r
		cx, cy := min(max(x, r), n-1-r), min(max(y, r), n-1-r)
		dx, dy := x-cx, y-cy
		return dx*dx+dy*dy > r*r
	}
	for y := range n {
		for x := range n {
			switch {
			case inCorner(x, y):
			case (y >= 14 && y < 18 && x >= 8 && x < 24) || (x >= 14 && x < 18 && y >= 8 && y < 24):
				img.SetNRGBA(x, y, white)
			default:
				img.SetNRGBA(x, y, blue)
			}
		}
	}
	var p bytes.Buffer
	_ = png.Encode(&p, img) // a bytes.Buffer does not fail
	var out bytes.Buffer
	// ICONDIR (reserved, type 1 = icon, 1 image) and its one ICONDIRENTRY: 32×32, no palette,
	// 1 plane, 32 bits per pixel, the PNG's size and its offset (6 + 16 bytes of headers).
	_ = binary.Write(&out, binary.LittleEndian, []uint16{0, 1, 1})
	out.Write([]byte{n, n, 0, 0})
	_ = binary.Write(&out, binary.LittleEndian, []uint16{1, 32})
	_ = binary.Write(&out, binary.LittleEndian, []uint32{uint32(p.Len()), 22})
	out.Write(p.Bytes())
	return out.Bytes()
}
