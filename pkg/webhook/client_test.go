package webhook_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"canistry/pkg/registry"
	"canistry/pkg/webhook"
)

// TestSign checks the signature against the Standard Webhooks specification's example.
func TestSign(t *testing.T) {
	got, err := webhook.Sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; err != nil || got != want {
		t.Fatalf("Sign = %q, %v; want %q", got, err, want)
	}
	if _, err := webhook.Sign("whsec_not base64!", "id", 1, nil); err == nil {
		t.Fatal("a secret that is not base64 signed")
	}
	s, err := registry.NewWebhookSecret()
	if err != nil || !strings.HasPrefix(s, "whsec_") || len(s) != len("whsec_")+44 {
		t.Fatalf("NewSecret = %q, %v", s, err)
	}
}

// TestClient_RefusesNonPublic: without LOCAL_DEV no connection is made to a loopback, private,
// link-local or unspecified address, also when a name resolves to one or an IPv6 address embeds
// one (NAT64, 6to4, IPv4-compatible), nor to port 0; with LOCAL_DEV, loopback works.
func TestClient_RefusesNonPublic(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	ln6, err := net.Listen("tcp6", "[::1]:0")
	if err == nil {
		go func() {
			for {
				c, err := ln6.Accept()
				if err != nil {
					return
				}
				conns.Add(1)
				c.Close()
			}
		}()
		t.Cleanup(func() { ln6.Close() })
	}

	client := webhook.NewClient(false, 2*time.Second)
	for _, tc := range []struct{ name, url, why string }{
		{"loopback v4", "http://127.0.0.1:" + port + "/", "loopback"},
		{"loopback v6", "http://" + func() string {
			if ln6 != nil {
				return ln6.Addr().String()
			}
			return "[::1]:443"
		}() + "/", "loopback"},
		{"name resolving to loopback", "http://localhost:" + port + "/", "loopback"},
		{"mapped loopback", "http://[::ffff:127.0.0.1]:" + port + "/", "loopback"},
		{"private 10/8", "https://10.0.0.1/", "private"},
		{"private 192.168/16", "https://192.168.1.1/", "private"},
		{"link-local metadata", "http://169.254.169.254/latest/meta-data/", "link-local"},
		{"unspecified", "http://0.0.0.0:" + port + "/", "unspecified"},
		{"multicast", "http://224.0.0.1/", "multicast"},
		{"NAT64 loopback", "http://[64:ff9b::7f00:1]:" + port + "/", "NAT64-embedded loopback"},
		{"NAT64 metadata", "http://[64:ff9b::a9fe:a9fe]/", "NAT64-embedded link-local"},
		{"local-use NAT64", "http://[64:ff9b:1::808:808]/", "reserved"},
		{"6to4 private", "https://[2002:a00:1::]/", "6to4-embedded private"},
		{"IPv4-compatible loopback", "http://[::127.0.0.1]:" + port + "/", "IPv4-compatible-embedded loopback"},
		{"port 0", "http://8.8.8.8:0/", "port 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := client.Post(tc.url, "application/json", strings.NewReader("{}"))
			if err == nil {
				resp.Body.Close()
				t.Fatalf("POST %s got %d, want refused", tc.url, resp.StatusCode)
			}
			if !strings.Contains(err.Error(), "refused: "+tc.why) {
				t.Fatalf("POST %s: %v, want refused as %s", tc.url, err, tc.why)
			}
		})
	}
	if n := conns.Load(); n != 0 {
		t.Fatalf("%d connections reached the local servers", n)
	}

	dev := webhook.NewClient(true, 2*time.Second)
	resp, err := dev.Post(srv.URL, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatalf("LOCAL_DEV client to loopback: %v", err)
	}
	resp.Body.Close()
}

// TestClient_NoRedirects: a 3xx is the reply; its Location is not followed.
func TestClient_NoRedirects(t *testing.T) {
	var followed atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/redirect":
			http.Redirect(w, r, "/target", http.StatusTemporaryRedirect)
		case "/target":
			followed.Add(1)
		}
	}))
	t.Cleanup(srv.Close)
	resp, err := webhook.NewClient(true, 2*time.Second).Post(srv.URL+"/redirect", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTemporaryRedirect || followed.Load() != 0 {
		t.Fatalf("redirect: status %d, followed %d times", resp.StatusCode, followed.Load())
	}
}
