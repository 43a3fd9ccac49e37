package ic_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"canistry/pkg/ic/ictest"
	"canistry/pkg/registry"
)

func TestClient_TokenLogo(t *testing.T) {
	c, s := newClient(t)
	png := "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
	svg := `<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`
	huge := base64.StdEncoding.EncodeToString(make([]byte, registry.MaxLogoBytes+1))
	for i, tc := range []struct {
		name, logo, mediaType, url string
		dropped                    bool
	}{
		{name: "None"},
		{name: "PNGDataURL", logo: "data:image/png;base64," + png, mediaType: "image/png"},
		{name: "SVGDataURLBase64", logo: "data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString([]byte(svg)), mediaType: "image/svg+xml"},
		{name: "SVGDataURLPercent", logo: "data:image/svg+xml;charset=utf-8,%3Csvg%20xmlns%3D%22x%22%2F%3E", mediaType: "image/svg+xml"},
		{name: "InlineSVG", logo: svg, mediaType: "image/svg+xml"},
		{name: "BareBase64PNG", logo: png, mediaType: "image/png"},
		{name: "URL", logo: "https://example.org/logo.png", url: "https://example.org/logo.png"},
		{name: "DropHTMLDataURL", logo: "data:text/html;base64," + base64.StdEncoding.EncodeToString([]byte("<h1>x</h1>")), dropped: true},
		{name: "DropMislabelledPNG", logo: "data:image/png;base64," + base64.StdEncoding.EncodeToString([]byte("<html></html>")), dropped: true},
		{name: "DropOversized", logo: "data:image/png;base64," + huge, dropped: true},
		{name: "DropOversizedUndecoded", logo: strings.Repeat("A", 2*registry.MaxLogoBytes+1), dropped: true},
		{name: "DropJavascriptURL", logo: "javascript:alert(1)", dropped: true},
		{name: "DropBadBase64", logo: "data:image/png;base64,!!!", dropped: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := canisterID(uint64(200 + i))
			s.AddCanister(id, hash32(1)).Install(ictest.NewLedger(ictest.LedgerInfo{Symbol: "L", Logo: tc.logo}))
			got, err := c.Token(t.Context(), regID(id))
			if err != nil {
				t.Fatal(err)
			}
			if got.LogoMediaType != tc.mediaType || got.LogoURL != tc.url || got.LogoDropped != tc.dropped {
				t.Errorf("media type %q url %q dropped %v; want %q %q %v",
					got.LogoMediaType, got.LogoURL, got.LogoDropped, tc.mediaType, tc.url, tc.dropped)
			}
			if (tc.mediaType != "") != (len(got.Logo) > 0) {
				t.Errorf("logo bytes %d for media type %q", len(got.Logo), tc.mediaType)
			}
		})
	}
}
