package ic

import (
	"bytes"
	"encoding/base64"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"canistry/pkg/registry"
)

// maxLogoURL caps a logo given as a plain URL.
const maxLogoURL = 2048

// imageTypes are the media types a logo may have. SVG is allowed because the api serves logos
// only as images under a restrictive Content-Security-Policy, where SVG scripts do not run.
var imageTypes = map[string]bool{
	"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true,
	"image/avif": true, "image/x-icon": true, "image/vnd.microsoft.icon": true,
	"image/svg+xml": true,
}

// setLogo stores a logo given as text (icrc1:logo or a PoW token's logo): a data URL, a plain
// http(s) URL, inline SVG, or bare base64 of an image. Anything larger than
// registry.MaxLogoBytes or not an image is dropped and recorded in LogoDropped.
func setLogo(t *registry.TokenInfo, s string) {
	s = strings.TrimSpace(s)
	t.Logo, t.LogoMediaType, t.LogoURL, t.LogoDropped = nil, "", "", false
	switch {
	case s == "":
		return
	case len(s) > 2*registry.MaxLogoBytes:
		// Even as base64 this cannot decode to an allowed size; do not decode it at all.
		t.LogoDropped = true
	case hasPrefixFold(s, "data:"):
		data, mt, ok := parseDataURL(s)
		setLogoBytes(t, data, mt, ok)
	case hasPrefixFold(s, "https://") || hasPrefixFold(s, "http://"):
		if u, err := url.Parse(s); err == nil && len(s) <= maxLogoURL && u.Host != "" {
			t.LogoURL = u.String()
		} else {
			t.LogoDropped = true
		}
	case hasPrefixFold(s, "<svg") || hasPrefixFold(s, "<?xml"):
		setLogoBytes(t, []byte(s), "image/svg+xml", true)
	default:
		data, err := base64.StdEncoding.DecodeString(s)
		setLogoBytes(t, data, "", err == nil)
	}
}

// setLogoBytes checks decoded logo bytes; mt is the declared media type ("" to sniff).
func setLogoBytes(t *registry.TokenInfo, data []byte, mt string, ok bool) {
	if !ok || len(data) == 0 || len(data) > registry.MaxLogoBytes {
		t.LogoDropped = true
		return
	}
	sniffed := sniff(data)
	if mt == "" {
		mt = sniffed
	}
	// The bytes must look like what they claim: a raster type must sniff as an image, SVG must
	// contain an <svg element.
	valid := imageTypes[mt] && (mt == "image/svg+xml" && sniffed == "image/svg+xml" ||
		mt != "image/svg+xml" && strings.HasPrefix(sniffed, "image/") && sniffed != "image/svg+xml")
	if !valid {
		t.LogoDropped = true
		return
	}
	t.Logo, t.LogoMediaType = data, mt
}

// sniff is http.DetectContentType, extended to recognise SVG (which it calls text/xml).
func sniff(data []byte) string {
	ct, _, _ := mime.ParseMediaType(http.DetectContentType(data))
	if !strings.HasPrefix(ct, "image/") {
		head := data[:min(len(data), 1024)]
		if bytes.Contains(bytes.ToLower(head), []byte("<svg")) {
			return "image/svg+xml"
		}
	}
	return ct
}

// parseDataURL decodes data:[<mediatype>][;base64],<data> (RFC 2397).
func parseDataURL(s string) ([]byte, string, bool) {
	header, payload, found := strings.Cut(s[len("data:"):], ",")
	if !found {
		return nil, "", false
	}
	isBase64 := false
	if h, ok := strings.CutSuffix(strings.ToLower(header), ";base64"); ok {
		header, isBase64 = h, true
	}
	mt, _, err := mime.ParseMediaType(header)
	if err != nil {
		return nil, "", false
	}
	if isBase64 {
		data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(payload))
		if err != nil {
			data, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(strings.TrimSpace(payload), "="))
		}
		return data, mt, err == nil
	}
	data, err := url.PathUnescape(payload)
	return []byte(data), mt, err == nil
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
