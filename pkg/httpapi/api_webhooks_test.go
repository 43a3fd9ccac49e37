package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"canistry/pkg/registry"
)

type webhookReply struct {
	ID           int64    `json:"id"`
	URL          string   `json:"url"`
	Events       []string `json:"events"`
	Token        *string  `json:"token"`
	Miner        *string  `json:"miner"`
	Secret       string   `json:"secret"`
	State        string   `json:"state"`
	Cursor       int64    `json:"cursor"`
	LastError    *string  `json:"last_error"`
	FailingSince *string  `json:"failing_since"`
}

func TestAPI_Webhooks(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		a := newTestAPI(t, apiOptions{adminKey: testAdminKey})
		ev, err := a.Store.AppendEvent(t.Context(), registry.Event{Event: "solution_found", Data: []byte(`{}`), Timestamp: 1})
		if err != nil {
			t.Fatal(err)
		}
		r := a.admin("POST", "/webhooks", map[string]any{"url": "https://hooks.example.com/in?token=abc",
			"events": []string{"solution_found", "canister.registered"}, "miner": string(idMiner), "description": "ops"})
		if r.Status != http.StatusCreated {
			t.Fatalf("POST /webhooks: %d %s", r.Status, r.Body)
		}
		var w webhookReply
		r.JSON(t, &w)
		if !strings.HasPrefix(w.Secret, "whsec_") || len(w.Secret) != 50 || w.State != "active" || w.Cursor != ev.ID ||
			w.Miner == nil || *w.Miner != string(idMiner) || w.Token != nil || strings.Join(w.Events, ",") != "canister.registered,solution_found" {
			t.Fatalf("created %+v", w)
		}
		if loc := r.Header.Get("Location"); loc != "/webhooks/1" {
			t.Errorf("Location %q", loc)
		}
		for _, path := range []string{"/webhooks/1", "/webhooks"} {
			r := a.admin("GET", path, nil)
			if r.Status != http.StatusOK || strings.Contains(string(r.Body), w.Secret) || strings.Contains(string(r.Body), `"secret"`) {
				t.Fatalf("GET %s shows the secret or failed: %d %s", path, r.Status, r.Body)
			}
		}
		var list struct{ Items []webhookReply }
		a.admin("GET", "/webhooks", nil).JSON(t, &list)
		if len(list.Items) != 1 || list.Items[0].URL != w.URL {
			t.Fatalf("list %+v", list)
		}
		if r := a.admin("GET", "/webhooks/1/deliveries?limit=10", nil); r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"items":[]`) {
			t.Fatalf("deliveries: %d %s", r.Status, r.Body)
		}
		var st struct {
			Webhooks struct{ Total, Failing int } `json:"webhooks"`
		}
		a.do("GET", "/system/status", nil).JSON(t, &st)
		if st.Webhooks.Total != 1 || st.Webhooks.Failing != 0 {
			t.Fatalf("status webhooks %+v", st.Webhooks)
		}
		if r := a.admin("POST", "/webhooks/1/enable", nil); r.Status != http.StatusOK {
			t.Fatalf("enable: %d %s", r.Status, r.Body)
		}
		if r := a.admin("DELETE", "/webhooks/1", nil); r.Status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", r.Status, r.Body)
		}
		if r := a.admin("GET", "/webhooks/1", nil); r.Status != http.StatusNotFound || r.ErrorCode(t) != "not_found" {
			t.Fatalf("get after delete: %d %s", r.Status, r.Body)
		}
	})

	t.Run("LocalDev", func(t *testing.T) {
		a := newTestAPI(t, apiOptions{adminKey: testAdminKey, localDev: true})
		for _, u := range []string{"http://127.0.0.1:9000/hook", "http://[::1]:9000/", "http://10.0.0.5/"} {
			if r := a.admin("POST", "/webhooks", map[string]any{"url": u}); r.Status != http.StatusCreated {
				t.Errorf("LOCAL_DEV POST %s: %d %s", u, r.Status, r.Body)
			}
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		a := newTestAPI(t, apiOptions{adminKey: testAdminKey})
		for _, tc := range []struct {
			name, body, msg string
			status          int
		}{
			{"no url", `{}`, "url is required", 400},
			{"http without LOCAL_DEV", `{"url":"http://example.com/"}`, "https", 400},
			{"ftp", `{"url":"ftp://example.com/"}`, "must be https", 400},
			{"relative", `{"url":"/hook"}`, "absolute", 400},
			{"no host", `{"url":"https:///hook"}`, "no host", 400},
			{"user info", `{"url":"https://u:p@example.com/"}`, "user or password", 400},
			{"fragment", `{"url":"https://example.com/#x"}`, "fragment", 400},
			{"loopback v4", `{"url":"https://127.0.0.1/"}`, "loopback", 400},
			{"loopback v6", `{"url":"https://[::1]:8443/"}`, "loopback", 400},
			{"private", `{"url":"https://10.1.2.3/"}`, "private", 400},
			{"link-local", `{"url":"https://169.254.169.254/"}`, "link-local", 400},
			{"unspecified", `{"url":"https://0.0.0.0/"}`, "unspecified", 400},
			{"multicast", `{"url":"https://[ff02::1]/"}`, "multicast", 400},
			{"long url", `{"url":"https://example.com/` + strings.Repeat("a", 2048) + `"}`, "longer than", 400},
			{"empty events", `{"url":"https://example.com/","events":[]}`, "events must list", 400},
			{"bad event", `{"url":"https://example.com/","events":["a..b"]}`, "not an event name", 400},
			{"bad token", `{"url":"https://example.com/","token":"not-a-principal"}`, "token", 400},
			{"bad miner", `{"url":"https://example.com/","miner":"ryjl3-tyaaa-aaaaa-aaaba-caj"}`, "miner", 400},
			{"long description", `{"url":"https://example.com/","description":"` + strings.Repeat("é", 201) + `"}`, "description", 400},
			{"unknown field", `{"url":"https://example.com/","secret":"whsec_mine"}`, "secret", 400},
			{"not json", `url=https://example.com/`, "", 400},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := a.admin("POST", "/webhooks", tc.body)
				if r.Status != tc.status || r.ErrorCode(t) != "invalid" || !strings.Contains(string(r.Body), tc.msg) {
					t.Fatalf("%s → %d %s; want %d invalid mentioning %q", tc.body, r.Status, r.Body, tc.status, tc.msg)
				}
			})
		}
		for _, tc := range []struct{ method, path string }{
			{"GET", "/webhooks/0"}, {"GET", "/webhooks/x"}, {"GET", "/webhooks/+1"}, {"DELETE", "/webhooks/-1"},
			{"POST", "/webhooks/abc/enable"}, {"GET", "/webhooks/1/deliveries?limit=0"}, {"GET", "/webhooks/1/deliveries?order=asc"},
			{"GET", "/webhooks?limit=5"}, {"GET", "/webhooks/1/deliveries?cursor=zz"},
		} {
			if r := a.admin(tc.method, tc.path, nil); r.Status != http.StatusBadRequest || r.ErrorCode(t) != "invalid" {
				t.Errorf("%s %s → %d %s, want 400 invalid", tc.method, tc.path, r.Status, r.Body)
			}
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		a := newTestAPI(t, apiOptions{adminKey: testAdminKey})
		for _, tc := range []struct{ method, path string }{
			{"GET", "/webhooks/7"}, {"DELETE", "/webhooks/7"}, {"POST", "/webhooks/7/enable"}, {"GET", "/webhooks/7/deliveries"},
		} {
			if r := a.admin(tc.method, tc.path, nil); r.Status != http.StatusNotFound || r.ErrorCode(t) != "not_found" {
				t.Errorf("%s %s → %d %s, want 404", tc.method, tc.path, r.Status, r.Body)
			}
		}
	})

	t.Run("ErrUnauthorized", func(t *testing.T) {
		a := newTestAPI(t, apiOptions{adminKey: testAdminKey})
		for _, tc := range []struct{ method, path string }{
			{"GET", "/webhooks"}, {"POST", "/webhooks"}, {"GET", "/webhooks/1"}, {"DELETE", "/webhooks/1"},
			{"POST", "/webhooks/1/enable"}, {"GET", "/webhooks/1/deliveries"},
		} {
			if r := a.do(tc.method, tc.path, nil); r.Status != http.StatusUnauthorized || r.ErrorCode(t) != "unauthorized" {
				t.Errorf("%s %s without a key → %d %s", tc.method, tc.path, r.Status, r.Body)
			}
			if r := a.do(tc.method, tc.path, nil, "Authorization", "Bearer wrong"); r.Status != http.StatusForbidden || r.ErrorCode(t) != "forbidden" {
				t.Errorf("%s %s with a wrong key → %d %s", tc.method, tc.path, r.Status, r.Body)
			}
		}
	})

	t.Run("ErrConflict", func(t *testing.T) {
		a := newTestAPI(t, apiOptions{adminKey: testAdminKey})
		for i := range 100 {
			if r := a.admin("POST", "/webhooks", `{"url":"https://example.com/`+time.Duration(i).String()+`"}`); r.Status != http.StatusCreated {
				t.Fatalf("webhook %d: %d %s", i, r.Status, r.Body)
			}
		}
		if r := a.admin("POST", "/webhooks", `{"url":"https://example.com/"}`); r.Status != http.StatusConflict || r.ErrorCode(t) != "conflict" {
			t.Fatalf("101st webhook: %d %s, want 409", r.Status, r.Body)
		}
	})
}
