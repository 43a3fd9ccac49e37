package registry_test

import (
	"net/netip"
	"testing"

	"canistry/pkg/registry"
)

func TestForbiddenAddr(t *testing.T) {
	for _, tc := range []struct{ ip, want string }{
		{"8.8.8.8", ""},
		{"2606:4700::1111", ""},
		{"127.0.0.1", "loopback"},
		{"::ffff:10.0.0.1", "private"},
		// NAT64 (RFC 6052 well-known prefix): judged as the IPv4 address in the last 32 bits.
		{"64:ff9b::7f00:1", "NAT64-embedded loopback"},
		{"64:ff9b::10.1.2.3", "NAT64-embedded private"},
		{"64:ff9b::169.254.169.254", "NAT64-embedded link-local"},
		{"64:ff9b::8.8.8.8", ""},
		{"64:ff9b:1::8.8.8.8", "reserved"}, // local-use translation prefix: refused whole
		{"64:ff9b:1:ffff::1", "reserved"},
		// 6to4: the IPv4 address in bits 16 to 47.
		{"2002:7f00:1::", "6to4-embedded loopback"},
		{"2002:c0a8:101::1", "6to4-embedded private"},
		{"2002:a9fe:a9fe::", "6to4-embedded link-local"},
		{"2002:6440:1::1", "6to4-embedded reserved"}, // 100.64.0.1, carrier-grade NAT
		{"2002:808:808::1", ""},
		// IPv4-compatible (deprecated): the last 32 bits.
		{"::127.0.0.1", "IPv4-compatible-embedded loopback"},
		{"::10.0.0.1", "IPv4-compatible-embedded private"},
		{"::192.168.0.1", "IPv4-compatible-embedded private"},
		{"::1", "loopback"},
		{"::", "unspecified"},
	} {
		if got := registry.ForbiddenAddr(netip.MustParseAddr(tc.ip)); got != tc.want {
			t.Errorf("ForbiddenAddr(%s) = %q, want %q", tc.ip, got, tc.want)
		}
	}
}

func TestValidateWebhookURL(t *testing.T) {
	for _, tc := range []struct {
		url      string
		localDev bool
		ok       bool
	}{
		{"https://example.com/hook", false, true},
		{"https://example.com:1/hook", false, true},
		{"https://example.com:65535/hook", false, true},
		{"https://example.com:0/hook", false, false},
		{"https://example.com:65536/hook", false, false},
		{"http://127.0.0.1:0/hook", true, false}, // the port is checked in LOCAL_DEV too
		{"https://[64:ff9b::7f00:1]/hook", false, false},
		{"https://[64:ff9b::a00:1]/hook", false, false},
		{"https://[64:ff9b:1::808:808]/hook", false, false},
		{"https://[2002:7f00:1::]/hook", false, false},
		{"https://[::127.0.0.1]/hook", false, false},
		{"https://[64:ff9b::808:808]/hook", false, true},
		{"https://[2002:808:808::1]/hook", false, true},
		{"http://[64:ff9b::7f00:1]/hook", true, true}, // LOCAL_DEV reaches local addresses
	} {
		err := registry.ValidateWebhookURL(tc.url, tc.localDev)
		if got := err == nil; got != tc.ok {
			t.Errorf("ValidateWebhookURL(%q, %v) = %v, want ok=%v", tc.url, tc.localDev, err, tc.ok)
		}
		if err != nil && registry.ErrorCode(err) != registry.EINVALID {
			t.Errorf("ValidateWebhookURL(%q) code %s, want invalid", tc.url, registry.ErrorCode(err))
		}
	}
}
