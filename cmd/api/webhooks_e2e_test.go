package main

import (
	"bytes"
	"crypto/hmac"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"canistry/pkg/registry"
	"canistry/pkg/webhook"
)

// hookReceiver records signed deliveries (checked with the endpoint's secret).
type hookReceiver struct {
	mu     sync.Mutex
	secret string
	ids    []int64  // event ids in arrival order
	msgIDs []string // webhook-id of each
	bad    int
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	ts, _ := strconv.ParseInt(r.Header.Get("webhook-timestamp"), 10, 64)
	h.mu.Lock()
	defer h.mu.Unlock()
	want, err := webhook.Sign(h.secret, r.Header.Get("webhook-id"), ts, body)
	var e registry.Event
	if err != nil || !hmac.Equal([]byte(want), []byte(r.Header.Get("webhook-signature"))) || json.Unmarshal(body, &e) != nil {
		h.bad++
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	h.ids = append(h.ids, e.ID)
	h.msgIDs = append(h.msgIDs, r.Header.Get("webhook-id"))
	w.WriteHeader(http.StatusNoContent)
}

// distinct returns the event ids received, deduplicated by webhook-id, in arrival order.
func (h *hookReceiver) distinct() []int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	seen := map[string]bool{}
	var out []int64
	for i, id := range h.msgIDs {
		if !seen[id] {
			seen[id] = true
			out = append(out, h.ids[i])
		}
	}
	return out
}

func adminDo(t *testing.T, method, url, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer admin-key-0123456789")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestWebhooks_ThroughTheBinaries: webhooks created on the real api are delivered by two real
// notifier processes on one database: outcalls taken by either notifier and a registry write
// of the api reach the endpoint signed, once each after dedup and in log order; an endpoint
// nobody answers turns failing after its retry budget and /system/status says so.
func TestWebhooks_ThroughTheBinaries(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binaries")
	}
	bin := buildBinaries(t)
	apiAddr, natsAddr, addrA, addrB := freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
	env := append(os.Environ(), "DATA_DIR="+t.TempDir(), "API_ADDR="+apiAddr, "NATS_URL=nats://"+natsAddr,
		"NATS_TOKEN=test-token-0123456789", "NOTIFY_API_KEYS=notify-key-0123456789", "ADMIN_API_KEY=admin-key-0123456789",
		"IC_URL=http://127.0.0.1:1", "HEARTBEAT_INTERVAL=200ms", "LOCAL_DEV=true", "EVENT_LOG_POLL=50ms",
		"WEBHOOK_RETRY_BASE=5ms", "WEBHOOK_RETRIES=3", "NOTIFIER_URL=http://"+addrA)
	api := startBin(t, bin, "api", env)
	waitFor(t, "the api", func() bool { return httpStatus("http://"+apiAddr+"/healthz") == http.StatusOK })
	notA := startBin(t, bin, "notifier", append(env, "NOTIFIER_ADDR="+addrA))
	notB := startBin(t, bin, "notifier", append(env, "NOTIFIER_ADDR="+addrB))
	for _, a := range []string{addrA, addrB} {
		waitFor(t, "notifier "+a, func() bool { return httpStatus("http://"+a+"/readyz") == http.StatusOK })
	}

	rx := &hookReceiver{}
	srv := httptest.NewServer(rx)
	t.Cleanup(srv.Close)
	code, body := adminDo(t, "POST", "http://"+apiAddr+"/webhooks",
		`{"url":"`+srv.URL+`/in","events":["solution_found","canister.registered"]}`)
	var created struct {
		ID     int64  `json:"id"`
		Secret string `json:"secret"`
	}
	if code != http.StatusCreated || json.Unmarshal(body, &created) != nil {
		t.Fatalf("POST /webhooks: %d %s", code, body)
	}
	rx.mu.Lock()
	rx.secret = created.Secret
	rx.mu.Unlock()
	dead := freeAddr(t) // nobody listens here
	if code, body := adminDo(t, "POST", "http://"+apiAddr+"/webhooks", `{"url":"http://`+dead+`/in"}`); code != http.StatusCreated {
		t.Fatalf("POST /webhooks (dead): %d %s", code, body)
	}

	const n = 10
	for i := range n {
		addr := addrA
		if i%2 == 1 {
			addr = addrB
		}
		outcall := fmt.Sprintf(`{"event":"solution_found","miner_id":"ryjl3-tyaaa-aaaaa-aaaba-cai","timestamp":%d,"data":{"token_id":"mxzaz-hqaaa-aaaar-qaada-cai","block_height":%d}}`,
			1_700_000_000_000_000_000+i, i)
		req, _ := http.NewRequestWithContext(t.Context(), "POST", "http://"+addr+"/miner-notifications", bytes.NewReader([]byte(outcall)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-API-Key", "notify-key-0123456789")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("outcall %d: %d", i, resp.StatusCode)
		}
	}
	if code, body := adminDo(t, "POST", "http://"+apiAddr+"/canisters", `{"canister_id":"qaa6y-5yaaa-aaaaa-aaafa-cai","kind":"wallet"}`); code != http.StatusCreated {
		t.Fatalf("register: %d %s", code, body)
	}
	waitFor(t, "11 deliveries", func() bool { return len(rx.distinct()) >= n+1 })
	got := rx.distinct()
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] {
			t.Fatalf("deliveries out of log order: %v", got)
		}
	}
	if len(got) != n+1 || rx.bad != 0 {
		t.Fatalf("received %v (%d with a bad signature), want %d events once each", got, rx.bad, n+1)
	}

	// A delivery is counted once its attempt is recorded, just after the receiver has it.
	delivered := func() float64 {
		sum := 0.0
		for _, a := range []string{addrA, addrB} {
			resp, err := http.Get("http://" + a + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			text, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			for _, line := range strings.Split(string(text), "\n") {
				if v, ok := strings.CutPrefix(line, "canistry_webhook_deliveries_total "); ok {
					f, _ := strconv.ParseFloat(v, 64)
					sum += f
				}
			}
		}
		return sum
	}
	waitFor(t, "canistry_webhook_deliveries_total of both notifiers to count every delivery", func() bool { return delivered() >= n+1 })

	var st struct {
		Webhooks struct {
			Total, Failing int
			Endpoints      []struct {
				ID        int64  `json:"id"`
				LastError string `json:"last_error"`
			} `json:"failing_endpoints"`
		} `json:"webhooks"`
	}
	waitFor(t, "the dead endpoint failing in /system/status", func() bool {
		code, body := adminDo(t, "GET", "http://"+apiAddr+"/system/status", "")
		return code == http.StatusOK && json.Unmarshal(body, &st) == nil && st.Webhooks.Failing == 1
	})
	if st.Webhooks.Total != 2 || len(st.Webhooks.Endpoints) != 1 || st.Webhooks.Endpoints[0].ID != 2 || st.Webhooks.Endpoints[0].LastError == "" {
		t.Fatalf("status webhooks %+v", st.Webhooks)
	}
	code, body = adminDo(t, "GET", "http://"+apiAddr+"/webhooks/2/deliveries", "")
	var attempts struct {
		Items []struct {
			Attempt int  `json:"attempt"`
			OK      bool `json:"ok"`
		}
	}
	if code != http.StatusOK || json.Unmarshal(body, &attempts) != nil || len(attempts.Items) != 4 || attempts.Items[0].Attempt != 4 || attempts.Items[0].OK {
		t.Fatalf("deliveries of the dead endpoint: %d %s; want 4 failed attempts, newest first", code, body)
	}
	notA.stop(t)
	notB.stop(t)
	api.stop(t)
}
