package httpserver_test

import (
	"bytes"
	"encoding/binary"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"canistry/pkg/httpserver"
)

// TestFavicons: /favicon.svg is an SVG document and /favicon.ico a valid one-image ICO whose
// PNG draws the icon (transparent corner, blue square, white cross), both cacheable.
func TestFavicons(t *testing.T) {
	svg, ico := httpserver.Favicons()
	for _, tc := range []struct {
		name      string
		h         http.Handler
		mediaType string
		check     func(t *testing.T, body []byte)
	}{
		{"svg", svg, "image/svg+xml", func(t *testing.T, body []byte) {
			if !strings.HasPrefix(string(body), `<svg xmlns="http://www.w3.org/2000/svg"`) || !strings.HasSuffix(string(body), "</svg>") {
				t.Errorf("not an SVG document: %s", body)
			}
		}},
		{"ico", ico, "image/x-icon", checkICO},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			tc.h.ServeHTTP(rec, httptest.NewRequest("GET", "/favicon."+tc.name, nil))
			res := rec.Result()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != tc.mediaType || !strings.Contains(res.Header.Get("Cache-Control"), "max-age=") {
				t.Fatalf("%d %q %q", res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Cache-Control"))
			}
			tc.check(t, body)
		})
	}
}

func checkICO(t *testing.T, body []byte) {
	t.Helper()
	var head struct {
		Reserved, Type, Count uint16
		W, H, Colors, Res     uint8
		Planes, BPP           uint16
		Size, Offset          uint32
	}
	if err := binary.Read(bytes.NewReader(body), binary.LittleEndian, &head); err != nil {
		t.Fatal(err)
	}
	if head.Reserved != 0 || head.Type != 1 || head.Count != 1 || head.W != 32 || head.H != 32 || head.BPP != 32 ||
		head.Offset != 22 || int(head.Offset+head.Size) != len(body) {
		t.Fatalf("ICO header %+v for %d bytes", head, len(body))
	}
	img, err := png.Decode(bytes.NewReader(body[head.Offset:]))
	if err != nil {
		t.Fatal(err)
	}
	for _, px := range []struct {
		x, y       int
		r, g, b, a uint32
	}{{0, 0, 0, 0, 0, 0}, {3, 3, 0x2a, 0x6a, 0xe0, 0xff}, {16, 16, 0xff, 0xff, 0xff, 0xff}, {10, 15, 0xff, 0xff, 0xff, 0xff}, {10, 10, 0x2a, 0x6a, 0xe0, 0xff}} {
		r, g, b, a := img.At(px.x, px.y).RGBA()
		if r>>8 != px.r || g>>8 != px.g || b>>8 != px.b || a>>8 != px.a {
			t.Errorf("pixel (%d,%d) = %d,%d,%d,%d, want %d,%d,%d,%d", px.x, px.y, r>>8, g>>8, b>>8, a>>8, px.r, px.g, px.b, px.a)
		}
	}
}
