package store_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"canistry/pkg/registry"
)

func TestStore_ListNotifications(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := openStore(t, b.DB(t))
		t0 := time.UnixMilli(1_700_000_000_000).UTC()
		var ids []int64
		for i := range 6 {
			n := newNotification(fmt.Sprint("k", i), "h", t0.Add(time.Duration(i)*time.Minute))
			n.MinerID = []string{"m1", "m2"}[i%2]
			n.Event = []string{registry.EventSolutionFound, registry.EventTokenConnected}[i/3]
			n.Data = json.RawMessage(fmt.Sprintf(`{"token_id":"t%d"}`, i%3))
			c, err := s.ClaimNotification(t.Context(), n, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, c.Notification.ID)
		}
		for _, tc := range []struct {
			name string
			f    registry.NotificationFilter
			want []int64
		}{
			{"All", registry.NotificationFilter{}, ids},
			{"Desc", registry.NotificationFilter{Page: registry.Page{Desc: true, Limit: 2}}, []int64{ids[5], ids[4]}},
			{"After", registry.NotificationFilter{Page: registry.Page{After: ids[3]}}, ids[4:]},
			{"Miner", registry.NotificationFilter{Miner: "m2"}, []int64{ids[1], ids[3], ids[5]}},
			{"Event", registry.NotificationFilter{Event: registry.EventTokenConnected}, ids[3:]},
			{"Token", registry.NotificationFilter{Token: "t1"}, []int64{ids[1], ids[4]}},
			{"Range", registry.NotificationFilter{From: t0.Add(time.Minute), To: t0.Add(2 * time.Minute)}, ids[1:3]},
			{"Combined", registry.NotificationFilter{Miner: "m1", Event: registry.EventSolutionFound, Token: "t2"}, []int64{ids[2]}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tc.f.Page.WithTotal = true
				page, err := s.ListNotifications(t.Context(), tc.f)
				if err != nil {
					t.Fatal(err)
				}
				got := []int64{}
				for _, n := range page.Items {
					got = append(got, n.ID)
					if len(n.ResponseBody) != 0 {
						t.Errorf("list carries the reply body of %d", n.ID)
					}
				}
				if fmt.Sprint(got) != fmt.Sprint(tc.want) {
					t.Errorf("ids %v, want %v", got, tc.want)
				}
				if tc.f.Page.Limit == 0 && tc.f.Page.After == 0 && (page.Next != nil || page.Total == nil || *page.Total != int64(len(tc.want))) {
					t.Errorf("next %v total %v", page.Next, page.Total)
				}
			})
		}
	})
}
