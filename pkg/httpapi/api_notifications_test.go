package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"canistry/pkg/registry"
	"canistry/pkg/store"
)

// seedNotifications stores n outcalls through the store's dedup claim (as the intake does):
// miners alternate between idMiner and idMiner2, events between solution_found and
// token_connected in pairs, data.token_id between idLedger and idToken2 in fours, one
// received per minute from the api clock's time; the third has three copies, one diverged.
func seedNotifications(t *testing.T, a *testAPI, n int) []registry.Notification {
	t.Helper()
	out := make([]registry.Notification, 0, n)
	miners := []registry.CanisterID{idMiner, idMiner2}
	events := []string{registry.EventSolutionFound, registry.EventTokenConnected}
	tokens := []registry.CanisterID{idLedger, idToken2}
	t0 := a.Clock.Now()
	for i := range n {
		m, ev, tok := miners[i%2], events[(i/2)%2], tokens[(i/4)%2]
		at := t0.Add(time.Duration(i) * time.Minute)
		key := fmt.Sprintf("%s:%d:%s", m, at.UnixNano(), ev)
		c, err := a.Store.ClaimNotification(t.Context(), &registry.Notification{DedupKey: key, MinerID: string(m), Event: ev,
			ICTimestamp: uint64(at.UnixNano()), Data: json.RawMessage(fmt.Sprintf(`{"token_id":%q,"n":%d}`, tok, i)),
			BodyHash: strings.Repeat("a", 64), ReceivedAt: at, ResponseStatus: 200,
			ResponseBody: []byte(`{"ok":true,"key":"` + key + `"}`)}, 5*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if i == 2 {
			err := a.Store.AddNotificationCopies(t.Context(), []store.NotificationCopies{{ID: c.Notification.ID, Copies: 2, Diverged: true}})
			if err != nil {
				t.Fatal(err)
			}
		}
		out = append(out, c.Notification)
	}
	return out
}

type apiNotification struct {
	ID             int64          `json:"id"`
	MinerID        string         `json:"miner_id"`
	Event          string         `json:"event"`
	ICTimestamp    string         `json:"ic_timestamp"`
	Data           map[string]any `json:"data"`
	ReceivedAt     string         `json:"received_at"`
	Copies         int            `json:"copies"`
	Diverged       bool           `json:"diverged"`
	ResponseStatus int            `json:"response_status"`
	DedupKey       string         `json:"dedup_key"`
	ResponseBody   string         `json:"response_body"`
}

type apiNotificationList struct {
	Items      []apiNotification `json:"items"`
	NextCursor *string           `json:"next_cursor"`
	Total      int64             `json:"total"`
}

func TestAPI_ListNotifications(t *testing.T) {
	a := newTestAPI(t, apiOptions{adminKey: testAdminKey})
	seeded := seedNotifications(t, a, 12)
	t0 := a.Clock.Now()
	ids := func(l apiNotificationList) []int64 {
		out := []int64{}
		for _, n := range l.Items {
			out = append(out, n.ID)
		}
		return out
	}
	id := func(i int) int64 { return seeded[i].ID }
	rfc := func(d time.Duration) string { return url.QueryEscape(t0.Add(d).Format(time.RFC3339)) }
	for _, tc := range []struct {
		name, query string
		want        []int64
	}{
		{"NewestFirst", "", []int64{id(11), id(10), id(9), id(8), id(7), id(6), id(5), id(4), id(3), id(2), id(1), id(0)}},
		{"OldestFirst", "?order=asc&limit=3", []int64{id(0), id(1), id(2)}},
		{"Miner", "?miner=" + string(idMiner2) + "&limit=3", []int64{id(11), id(9), id(7)}},
		{"Event", "?event=token_connected", []int64{id(11), id(10), id(7), id(6), id(3), id(2)}},
		{"Token", "?token=" + string(idToken2), []int64{id(7), id(6), id(5), id(4)}},
		{"TimeRange", "?from=" + rfc(3*time.Minute) + "&to=" + rfc(5*time.Minute), []int64{id(5), id(4), id(3)}},
		{"All", "?miner=" + string(idMiner) + "&event=solution_found&token=" + string(idLedger), []int64{id(8), id(0)}},
		{"NoMatch", "?event=mining_stopped", []int64{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := a.do("GET", "/notifications"+tc.query, nil)
			if r.Status != http.StatusOK {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			var l apiNotificationList
			r.JSON(t, &l)
			if got := ids(l); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("ids %v, want %v", got, tc.want)
			}
		})
	}

	t.Run("Item", func(t *testing.T) {
		var l apiNotificationList
		a.do("GET", "/notifications?order=asc&limit=1", nil).JSON(t, &l)
		n := l.Items[0]
		if n.MinerID != string(idMiner) || n.Event != registry.EventSolutionFound || n.Copies != 1 || n.Diverged ||
			n.ICTimestamp != fmt.Sprint(t0.UnixNano()) || n.Data["token_id"] != string(idLedger) || n.ReceivedAt != t0.Format(time.RFC3339Nano) {
			t.Errorf("first item %+v", n)
		}
	})

	t.Run("Paging", func(t *testing.T) {
		var got []int64
		path := "/notifications?limit=5&miner=" + string(idMiner)
		for range 10 {
			r := a.do("GET", path, nil)
			var l apiNotificationList
			r.JSON(t, &l)
			got = append(got, ids(l)...)
			if l.Total != 6 {
				t.Errorf("total %d, want 6", l.Total)
			}
			link := r.Header.Get("Link")
			if l.NextCursor == nil {
				if link != "" {
					t.Errorf("last page has Link %q", link)
				}
				break
			}
			next, ok := strings.CutPrefix(link, "<")
			next, _, _ = strings.Cut(next, ">")
			if !ok || !strings.Contains(next, "cursor="+url.QueryEscape(*l.NextCursor)) {
				t.Fatalf("Link %q does not carry the next cursor %q", link, *l.NextCursor)
			}
			path = next
		}
		if want := []int64{id(10), id(8), id(6), id(4), id(2), id(0)}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("pages %v, want %v", got, want)
		}
	})

	for _, tc := range []struct{ name, query string }{
		{"ErrUnknownParameter", "?miners=x"},
		{"ErrMiner", "?miner=not-a-principal"},
		{"ErrToken", "?token=AAAAA-AA"},
		{"ErrEvent", "?event=bad%20event"},
		{"ErrFrom", "?from=yesterday"},
		{"ErrRange", "?from=" + rfc(time.Hour) + "&to=" + rfc(0)},
		{"ErrLimit", "?limit=501"},
		{"ErrOrder", "?order=up"},
		{"ErrCursor", "?cursor=zzz"},
		{"ErrCursorOrder", "?order=asc&cursor=" + registry.Cursor{Key: 3, Desc: true}.String()},
		{"ErrRepeated", "?event=a&event=b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := a.do("GET", "/notifications"+tc.query, nil)
			if r.Status != http.StatusBadRequest || r.ErrorCode(t) != "invalid" {
				t.Errorf("%d %s, want 400 invalid", r.Status, r.Body)
			}
		})
	}
}

func TestAPI_GetNotification(t *testing.T) {
	a := newTestAPI(t, apiOptions{adminKey: testAdminKey})
	seeded := seedNotifications(t, a, 3)
	t.Run("OK", func(t *testing.T) {
		n := seeded[2]
		r := a.do("GET", fmt.Sprintf("/notifications/%d", n.ID), nil)
		if r.Status != http.StatusOK {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		var got apiNotification
		r.JSON(t, &got)
		if got.Copies != 3 || !got.Diverged || got.DedupKey != n.DedupKey || got.ResponseBody != string(n.ResponseBody) ||
			got.ResponseStatus != 200 || got.Event != n.Event {
			t.Errorf("got %+v", got)
		}
	})
	for _, tc := range []struct {
		name, path, code string
		status           int
	}{
		{"ErrNotFound", "/notifications/999", "not_found", http.StatusNotFound},
		{"ErrZero", "/notifications/0", "invalid", http.StatusBadRequest},
		{"ErrNotANumber", "/notifications/abc", "invalid", http.StatusBadRequest},
		{"ErrQuery", fmt.Sprintf("/notifications/%d?x=1", seeded[0].ID), "invalid", http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := a.do("GET", tc.path, nil)
			if r.Status != tc.status || r.ErrorCode(t) != tc.code {
				t.Errorf("%d %s, want %d %s", r.Status, r.Body, tc.status, tc.code)
			}
		})
	}
}

func TestAPI_PutDeleteModuleHash(t *testing.T) {
	a := newTestAPI(t, apiOptions{adminKey: testAdminKey})
	hash := strings.Repeat("ab", 32)
	path := "/module-hashes/" + hash
	t.Run("Create", func(t *testing.T) {
		r := a.admin("PUT", path, map[string]any{"name": "ledger", "version": "1.0"})
		if r.Status != http.StatusCreated {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})
	t.Run("Replace", func(t *testing.T) {
		r := a.admin("PUT", "/module-hashes/"+strings.ToUpper(hash), map[string]any{"hash": hash, "name": "ledger", "version": "1.1", "kind": "token"})
		if r.Status != http.StatusOK {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		var l struct {
			Items []struct {
				Hash    string `json:"hash"`
				Version string `json:"version"`
			} `json:"items"`
		}
		a.do("GET", "/module-hashes", nil).JSON(t, &l)
		if len(l.Items) != 1 || l.Items[0].Version != "1.1" || l.Items[0].Hash != hash {
			t.Errorf("list after replace: %+v", l.Items)
		}
	})
	for _, tc := range []struct {
		name, method, path string
		body               any
		auth               bool
		status             int
		code               string
	}{
		{"ErrNoAuth", "PUT", path, map[string]any{"name": "x"}, false, 401, "unauthorized"},
		{"ErrBadHash", "PUT", "/module-hashes/xyz", map[string]any{"name": "x"}, true, 400, "invalid"},
		{"ErrHashDiffers", "PUT", path, map[string]any{"hash": strings.Repeat("c", 64), "name": "x"}, true, 400, "invalid"},
		{"ErrNoName", "PUT", path, map[string]any{"version": "2"}, true, 400, "invalid"},
		{"ErrUnknownField", "PUT", path, map[string]any{"name": "x", "owner": "y"}, true, 400, "invalid"},
		{"ErrBadKind", "PUT", path, map[string]any{"name": "x", "kind": "ledger"}, true, 400, "invalid"},
		{"ErrNotJSON", "PUT", path, "name=x", true, 400, "invalid"},
		{"ErrDeleteNoAuth", "DELETE", path, nil, false, 401, "unauthorized"},
		{"ErrDeleteBadHash", "DELETE", "/module-hashes/12", nil, true, 400, "invalid"},
		{"ErrDeleteUnknown", "DELETE", "/module-hashes/" + strings.Repeat("e", 64), nil, true, 404, "not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r apiReply
			if tc.auth {
				r = a.admin(tc.method, tc.path, tc.body)
			} else {
				r = a.do(tc.method, tc.path, tc.body)
			}
			if r.Status != tc.status || r.ErrorCode(t) != tc.code {
				t.Errorf("%d %s, want %d %s", r.Status, r.Body, tc.status, tc.code)
			}
		})
	}
	t.Run("Delete", func(t *testing.T) {
		if r := a.admin("DELETE", path, nil); r.Status != http.StatusNoContent {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		if r := a.admin("DELETE", path, nil); r.Status != http.StatusNotFound {
			t.Errorf("second delete %d, want 404", r.Status)
		}
	})
}
