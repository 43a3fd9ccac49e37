package main

import (
	"strconv"
	"strings"
	"testing"

	"canistry/pkg/lifecycle/runtest"
)

// NATS credentials in NATS_URL (an external server: the api connects with the URL as given)
// appear neither in the log (start-up record included) nor in the admin's /system/status.
func TestRun_NATSURLRedacted(t *testing.T) {
	const password = "nats-password-must-not-show"
	env := baseEnv(t)
	env["NATS_EMBED"] = "false"
	env["NATS_URL"] = "nats://alice:" + password + "@127.0.0.1:" + strconv.Itoa(runtest.FreePort(t, false))
	const adminKey = "redact-test-admin-key-0123456789"
	env["ADMIN_API_KEY"] = adminKey
	p := runtest.Start(t, run, env)

	var st struct {
		NATS struct {
			URL string `json:"url"`
		} `json:"nats"`
	}
	adminStatus(t, p.URL("/system/status"), adminKey, &st)
	if want := "nats://REDACTED@127.0.0.1:"; !strings.HasPrefix(st.NATS.URL, want) {
		t.Errorf("status nats.url = %q, want it to start %q", st.NATS.URL, want)
	}
	if err := p.Stop(t); err != nil {
		t.Fatalf("run returned %v", err)
	}
	if strings.Contains(p.Log(), password) {
		t.Errorf("the NATS password was logged:\n%s", p.Log())
	}
	if !strings.Contains(p.Log(), `"nats":"nats://REDACTED@`) {
		t.Errorf("the start-up record does not show the redacted NATS URL:\n%s", p.Log())
	}
}
