package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"canistry/pkg/registry"
	"canistry/pkg/store"
)

// TestAPI_GetNotificationCopies: GET /notifications/{id} shows the forensics of the recorded
// copies (by family, distinct sources, spread, groups of identical bodies largest first), in
// the shape openapi.json documents (a.do validates every reply against it).
func TestAPI_GetNotificationCopies(t *testing.T) {
	a := newTestAPI(t, apiOptions{adminKey: testAdminKey})
	h1, h2 := strings.Repeat("a", 64), strings.Repeat("c", 64)
	t0 := a.Clock.Now()
	claim := func(ts int, source string) int64 {
		t.Helper()
		c, err := a.Store.ClaimNotification(t.Context(), &registry.Notification{DedupKey: fmt.Sprintf("k%d", ts), MinerID: string(idMiner),
			Event: registry.EventSolutionFound, ICTimestamp: uint64(ts), Data: []byte(`{}`), BodyHash: h1, ReceivedAt: t0,
			ResponseStatus: 200, ResponseBody: []byte(`{}`), Source: source}, 5*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return c.Notification.ID
	}
	replicated, single := claim(1, "2001:db8::1"), claim(2, "203.0.113.9")
	var recs []store.CopyRecord
	for i, src := range []string{"2001:db8::2", "2001:db8::3", "::ffff:192.0.2.7", "192.0.2.7", "2001:db8::2"} {
		hash := h1
		if i >= 3 {
			hash = h2
		}
		recs = append(recs, store.CopyRecord{Source: src, At: t0.Add(time.Duration(i+1) * 400 * time.Millisecond), BodyHash: hash})
	}
	err := a.Store.AddNotificationCopies(t.Context(), []store.NotificationCopies{{ID: replicated, Copies: len(recs), Diverged: true, Records: recs}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		id   int64
		want string
	}{
		{"Replicated", replicated, `"copies_recorded":6,"copies_by_family":{"ipv4":2,"ipv6":4},"distinct_sources":4,"spread_ms":2000,` +
			`"body_groups":[{"hash":"` + h1 + `","count":4},{"hash":"` + h2 + `","count":2}]`},
		{"NonReplicated", single, `"copies_recorded":1,"copies_by_family":{"ipv4":1},"distinct_sources":1,"spread_ms":0,` +
			`"body_groups":[{"hash":"` + h1 + `","count":1}]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := a.do("GET", fmt.Sprintf("/notifications/%d", tc.id), nil)
			if r.Status != http.StatusOK || !strings.Contains(string(r.Body), tc.want) {
				t.Fatalf("%d %s\nwant it to contain %s", r.Status, r.Body, tc.want)
			}
		})
	}
}
