package config_test

import (
	"testing"

	"canistry/pkg/config"
)

// Every URL a binary logs or shows loses its credentials: the user part (a user and password,
// or a NATS token), a password query parameter; each entry of a list.
func TestRedactURLs(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"nats://127.0.0.1:4222", "nats://127.0.0.1:4222"},
		{"nats://s3cret-token@127.0.0.1:4222", "nats://REDACTED@127.0.0.1:4222"},
		{"nats://alice:s3cret@[::1]:4222", "nats://REDACTED@[::1]:4222"},
		{"nats://t0k@a:4222, nats://bob:pw@b:4222", "nats://REDACTED@a:4222,nats://REDACTED@b:4222"},
		{"postgres://canistry:s3cret@db:5432/x?password=s3cret2&sslmode=require", "postgres://REDACTED@db:5432/x?password=xxxxx&sslmode=require"},
		{"https://icp-api.io", "https://icp-api.io"},
		{"nats://us er:s3cret@%zz", "(unparsable URL, not shown)"},
	} {
		if got := config.RedactURLs(tc.in); got != tc.want {
			t.Errorf("RedactURLs(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
