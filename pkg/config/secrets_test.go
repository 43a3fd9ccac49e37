package config_test

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"canistry/pkg/config"
)

// TestLoad_ErrorsNeverShowSecrets gives every secret variable a bad value next to valid secrets
// and checks that the error names the variable but shows no secret.
func TestLoad_ErrorsNeverShowSecrets(t *testing.T) {
	const goodKey = "valid-key-AAAAAAAAAAAAAAAA"
	const goodKey2 = "valid-key-BBBBBBBBBBBBBBBB"
	tests := []struct {
		name    string
		env     map[string]string
		secrets []string // none of these may appear in the error
	}{
		{"NOTIFY_API_KEYS", map[string]string{"NOTIFY_API_KEYS": goodKey + "," + goodKey2 + ",shortsecret"},
			[]string{goodKey, goodKey2, "shortsecret"}},
		{"ADMIN_API_KEY", map[string]string{"ADMIN_API_KEY": "tinysecret"}, []string{"tinysecret"}},
		{"NATS_TOKEN", map[string]string{"NATS_URL": "nats://0.0.0.0:4222", "NATS_TOKEN": ""}, nil},
		{"NATS_URL", map[string]string{"NATS_URL": "nats://natsuser:natspassword@127.0.0.1"},
			[]string{"natsuser", "natspassword"}},
		{"NATS_URL", map[string]string{"NATS_URL": "nats://tokeninurl@0.0.0.0:4222", "NATS_TOKEN": ""}, []string{"tokeninurl"}},
		{"NATS_URL", map[string]string{"NATS_URL": "http://natsuser2:natspassword2@127.0.0.1:4222,nats://h:1"},
			[]string{"natsuser2", "natspassword2"}},
		{"NOTIFIER_URL", map[string]string{"NOTIFIER_URL": "ftp://notifuser:notifpassword@x"},
			[]string{"notifuser", "notifpassword"}},
		{"IC_URL", map[string]string{"IC_URL": "ftp://icuser:icpassword@x"}, []string{"icuser", "icpassword"}},
	}
	// Every secret variable of the table is covered.
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.name] = true
	}
	for _, v := range config.Vars() {
		if v.Secret() && !covered[v.Name] {
			t.Errorf("secret variable %s has no case here", v.Name)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Valid secrets elsewhere must not leak either.
			env := map[string]string{"ADMIN_API_KEY": goodKey2, "NATS_TOKEN": "nats-token-secret-value", "NOTIFY_API_KEYS": goodKey}
			for k, v := range tt.env {
				env[k] = v
			}
			_, err := config.Load(func(k string) string { return env[k] })
			if err == nil {
				t.Fatal("want an error")
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.name) {
				t.Errorf("error does not name %s: %s", tt.name, msg)
			}
			for _, s := range append(tt.secrets, goodKey, goodKey2, "nats-token-secret-value") {
				if env["NATS_TOKEN"] == "" && s == "nats-token-secret-value" {
					continue
				}
				if strings.Contains(msg, s) {
					t.Errorf("error shows the secret %q: %s", s, msg)
				}
			}
		})
	}
}

func TestLoad_SecretVariables(t *testing.T) {
	var got []string
	for _, v := range config.Vars() {
		if v.Secret() {
			got = append(got, v.Name)
		}
	}
	want := []string{"NATS_TOKEN", "NOTIFY_API_KEYS", "ADMIN_API_KEY"}
	if !slices.Equal(got, want) {
		t.Fatalf("secret variables = %v, want %v", got, want)
	}
}

func TestLoad_TrustedProxies(t *testing.T) {
	c, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	if !slices.Equal(c.TrustedProxies, want) {
		t.Fatalf("default TrustedProxies = %v, want %v", c.TrustedProxies, want)
	}
	c, err = config.Load(func(k string) string {
		if k == "TRUSTED_PROXIES" {
			return "10.1.2.3, 192.168.0.7/16 ,fd00::/8"
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	want = []netip.Prefix{netip.MustParsePrefix("10.1.2.3/32"), netip.MustParsePrefix("192.168.0.0/16"), netip.MustParsePrefix("fd00::/8")}
	if !slices.Equal(c.TrustedProxies, want) {
		t.Fatalf("TrustedProxies = %v, want %v", c.TrustedProxies, want)
	}
	c, err = config.Load(func(k string) string {
		if k == "TRUSTED_PROXIES" {
			return "none"
		}
		return ""
	})
	if err != nil || len(c.TrustedProxies) != 0 {
		t.Fatalf("none: %v, %v", c.TrustedProxies, err)
	}
	_, err = config.Load(func(k string) string {
		if k == "TRUSTED_PROXIES" {
			return "10.0.0.0/8,proxy.example"
		}
		return ""
	})
	if err == nil || !strings.Contains(err.Error(), "TRUSTED_PROXIES") {
		t.Fatalf("bad TRUSTED_PROXIES: %v", err)
	}
}
