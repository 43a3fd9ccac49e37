package httpapi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"canistry/pkg/httpapi"
	"canistry/pkg/registry"
	"canistry/pkg/store"
)

// BenchmarkNotifications_100k: GET /notifications over loopback on a log of 100,000 outcalls
// (SQLite), each request at another cursor so that neither the read cache nor the totals
// cache answers it; with no filter, by miner (index), by event (index) and by token
// (data.token_id, read from each row's JSON).
func BenchmarkNotifications_100k(b *testing.B) {
	st, err := store.Open(b.Context(), filepath.Join(b.TempDir(), "registry.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	srv := httptest.NewServer(httpapi.NewAPIHandler(httpapi.APIDeps{Store: st, Logger: slog.New(slog.DiscardHandler),
		Status: httpapi.StatusDeps{Store: st}}))
	b.Cleanup(srv.Close)
	const n = 100_000
	miners := []registry.CanisterID{idMiner, idMiner2}
	t0 := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	for start := 0; start < n; start += 1000 {
		batch := make([]*registry.Notification, 0, 1000)
		for i := start; i < start+1000; i++ {
			at := t0.Add(time.Duration(i) * time.Second)
			ev := []string{registry.EventSolutionFound, registry.EventTokenConnected, "mining_started"}[i%3]
			key := fmt.Sprintf("%s:%d:%s", miners[i%2], at.UnixNano(), ev)
			batch = append(batch, &registry.Notification{DedupKey: key, MinerID: string(miners[i%2]), Event: ev,
				ICTimestamp: uint64(at.UnixNano()), Data: json.RawMessage(fmt.Sprintf(`{"token_id":%q,"block_height":%d}`, []registry.CanisterID{idLedger, idToken2}[i%5/4], i)),
				BodyHash: strings.Repeat("a", 64), ReceivedAt: at, ResponseStatus: 200, ResponseBody: []byte(`{"ok":true}`)})
		}
		if _, err := st.ClaimNotifications(b.Context(), batch, time.Minute); err != nil {
			b.Fatal(err)
		}
	}
	for _, bc := range []struct{ name, query string }{
		{"All", ""}, {"Miner", "&miner=" + string(idMiner)}, {"Event", "&event=token_connected"},
		{"Token", "&token=" + string(idToken2)}, {"TimeRange", "&from=2025-03-01T06:00:00Z&to=2025-03-01T18:00:00Z"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				i++
				cur := registry.Cursor{Key: int64(n - (i*7919)%(n-1000)), Desc: true}
				res, err := http.Get(srv.URL + "/notifications?limit=50&cursor=" + cur.String() + bc.query)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					b.Fatalf("%d", res.StatusCode)
				}
			}
		})
	}
}
