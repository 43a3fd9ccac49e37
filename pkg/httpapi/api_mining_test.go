package httpapi_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"canistry/pkg/registry"
	"canistry/pkg/store"
	"canistry/pkg/store/pgtest"
	"canistry/pkg/store/storetest"
)

// The mining routes over a real store on each backend, every reply validated against the
// served openapi.json (testAPI.do).
func forEachMiningBackend(t *testing.T, fn func(t *testing.T, a *testAPI)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, newTestAPI(t, apiOptions{adminKey: testAdminKey})) })
	t.Run("postgres", func(t *testing.T) {
		fn(t, newTestAPI(t, apiOptions{adminKey: testAdminKey, db: pgtest.New(t).Database(t)}))
	})
}

const (
	nat2to64p1  = "18446744073709551617"                    // 2^64 + 1
	nat2to128   = "340282366920938463463374607431768211456" // 2^128
	natTwenty9s = "99999999999999999999"
)

// seedMining stores, through the intake's claim path: a solution with 12 replica copies, a
// refused outcall, a repeated block height, decimals above 2^64, a solution of a token that is
// not registered, and a fresh hash rate of a registered miner mining the token.
func seedMining(t *testing.T, a *testAPI) map[string]int64 {
	t.Helper()
	ctx := t.Context()
	registerCanister(t, a, idLedger, "token", "name", "pow coin")
	registerCanister(t, a, idMiner, "miner", "name", "rig one")
	now := a.Clock.Now()
	if _, err := storetest.SaveMiner(ctx, a.Store, registry.MinerInfo{CanisterID: idMiner, CurrentToken: string(idLedger), IsMining: true, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := storetest.AddMinerStats(ctx, a.Store, registry.MinerStats{CanisterID: idMiner, ObservedAt: now.Add(-30 * time.Second), HashRate: 1500}); err != nil {
		t.Fatal(err)
	}
	ids := map[string]int64{}
	claim := func(key string, miner registry.CanisterID, ago time.Duration, token registry.CanisterID, height any, diff string) {
		c, err := storetest.ClaimOutcall(ctx, a.Store, storetest.Outcall{Key: key, Miner: string(miner), At: now.Add(-ago),
			Data: map[string]any{"token_id": string(token), "block_height": height, "difficulty": diff, "reward": "5000000000", "nonce": 42, "hash": "00ff"}})
		if err != nil {
			t.Fatal(err)
		}
		if c.Claimed {
			ids[key] = c.Notification.ID
		}
	}
	for range 13 {
		claim("k1", idMiner, 3*time.Hour, idLedger, 1, nat2to64p1)
	}
	if _, err := a.Store.RefuseNotification(ctx, "refused", "h", "192.0.2.1", store.Refusal{Status: 429, Body: []byte("{}")}, now.Add(-3*time.Hour), time.Hour); err != nil {
		t.Fatal(err)
	}
	claim("refused", idMiner2, 3*time.Hour, idLedger, 9, "7")
	claim("k2", idMiner2, 2*time.Hour, idLedger, "2", nat2to128)
	claim("k3", idMiner2, 119*time.Minute, idLedger, 2, "5") // repeats height 2
	claim("k4", idMiner, time.Hour, idLedger, 3, "1000")
	claim("k5", idMiner2, 30*time.Minute, idLedger, 4, natTwenty9s)
	claim("other", idMiner2, 30*time.Minute, idToken2, 1, "1")
	if err := storetest.SyncMining(ctx, a.Store); err != nil {
		t.Fatal(err)
	}
	return ids
}

type miningReply struct {
	Solutions               int64    `json:"solutions"`
	BlocksPerHour           *float64 `json:"blocks_per_hour"`
	AverageBlockTimeSeconds *float64 `json:"average_block_time_seconds"`
	Difficulty              struct{ First, Last, Min, Max *string }
	Reward                  struct{ First, Last *string }
	NetworkHashRate         *float64 `json:"network_hash_rate"`
	MinerCount              int64    `json:"miner_count"`
	Miners                  []struct {
		MinerID        string   `json:"miner_id"`
		Name           *string  `json:"name"`
		Solutions      int64    `json:"solutions"`
		Share          float64  `json:"share"`
		LastSolutionAt string   `json:"last_solution_at"`
		HashRate       *float64 `json:"hash_rate"`
	}
}

func str(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

func TestMining_Summary(t *testing.T) {
	forEachMiningBackend(t, func(t *testing.T, a *testAPI) {
		seedMining(t, a)
		var m miningReply
		r := a.do("GET", "/tokens/"+string(idLedger)+"/mining", nil)
		if r.Status != http.StatusOK {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		r.JSON(t, &m)
		if m.Solutions != 4 || m.MinerCount != 2 || len(m.Miners) != 2 {
			t.Fatalf("solutions %d miners %d, want 4 and 2 (copies, the refusal and the repeat not counted): %s", m.Solutions, m.MinerCount, r.Body)
		}
		if str(m.Difficulty.First) != nat2to64p1 || str(m.Difficulty.Last) != natTwenty9s || str(m.Difficulty.Min) != "1000" || str(m.Difficulty.Max) != nat2to128 {
			t.Errorf("difficulty: %s", r.Body)
		}
		if str(m.Reward.First) != "5000000000" || str(m.Reward.Last) != "5000000000" {
			t.Errorf("reward: %s", r.Body)
		}
		if m.AverageBlockTimeSeconds == nil || *m.AverageBlockTimeSeconds != 3000 || m.BlocksPerHour == nil || *m.BlocksPerHour != 4.0/24 {
			t.Errorf("block time / blocks per hour: %s", r.Body)
		}
		if m.NetworkHashRate == nil || *m.NetworkHashRate != 1500 {
			t.Errorf("network hash rate: %s", r.Body)
		}
		first, second := m.Miners[0], m.Miners[1]
		if first.MinerID != string(idMiner) || str(first.Name) != "rig one" || first.Solutions != 2 || first.Share != 0.5 ||
			first.HashRate == nil || *first.HashRate != 1500 || first.LastSolutionAt != "2025-03-01T11:00:00Z" {
			t.Errorf("leader (tie broken by the earliest last solution): %+v", first)
		}
		if second.MinerID != string(idMiner2) || second.Name != nil || second.HashRate != nil || second.Share != 0.5 {
			t.Errorf("second: %+v", second)
		}
		var narrow miningReply
		a.do("GET", "/tokens/"+string(idLedger)+"/mining?from=2025-03-01T09:30:00Z&to=2025-03-01T10:30:00Z", nil).JSON(t, &narrow)
		if narrow.Solutions != 1 || narrow.Miners[0].Share != 1 || narrow.AverageBlockTimeSeconds != nil {
			t.Errorf("one solution (the repeat at 10:01 not counted): %+v", narrow)
		}
		var empty miningReply
		r = a.do("GET", "/tokens/"+string(idLedger)+"/mining?from=2025-01-01T00:00:00Z&to=2025-01-02T00:00:00Z", nil)
		r.JSON(t, &empty)
		if empty.Solutions != 0 || len(empty.Miners) != 0 || empty.Difficulty.First != nil || *empty.BlocksPerHour != 0 {
			t.Errorf("empty range: %s", r.Body)
		}
		var other miningReply
		if r := a.do("GET", "/tokens/"+string(idToken2)+"/mining", nil); r.Status != http.StatusOK {
			t.Errorf("a token named only by an outcall: %d %s", r.Status, r.Body)
		} else if r.JSON(t, &other); other.Solutions != 1 {
			t.Errorf("other token: %s", r.Body)
		}
	})
}

func TestMining_Solutions(t *testing.T) {
	forEachMiningBackend(t, func(t *testing.T, a *testAPI) {
		ids := seedMining(t, a)
		type page struct {
			Items []struct {
				NotificationID int64   `json:"notification_id"`
				BlockHeight    string  `json:"block_height"`
				Difficulty     *string `json:"difficulty"`
				Repeat         bool    `json:"repeat"`
				RepeatOf       *int64  `json:"repeat_of"`
			}
			NextCursor *string `json:"next_cursor"`
			Total      int64   `json:"total"`
		}
		var all page
		a.do("GET", "/tokens/"+string(idLedger)+"/solutions", nil).JSON(t, &all)
		want := []string{"k5", "k4", "k3", "k2", "k1"}
		if len(all.Items) != len(want) || all.Total != 5 {
			t.Fatalf("solutions: %+v", all)
		}
		for i, k := range want {
			if all.Items[i].NotificationID != ids[k] {
				t.Errorf("item %d: notification %d, want %s (%d)", i, all.Items[i].NotificationID, k, ids[k])
			}
		}
		if rep := all.Items[2]; !rep.Repeat || rep.RepeatOf == nil || *rep.RepeatOf != ids["k2"] || all.Items[3].Repeat {
			t.Errorf("the repeat of height 2: %+v", all.Items[2:4])
		}
		var p1, p2 page
		r := a.do("GET", "/tokens/"+string(idLedger)+"/solutions?limit=3", nil)
		r.JSON(t, &p1)
		if len(p1.Items) != 3 || p1.NextCursor == nil || r.Header.Get("Link") == "" {
			t.Fatalf("first page: %+v", p1)
		}
		a.do("GET", "/tokens/"+string(idLedger)+"/solutions?limit=3&cursor="+*p1.NextCursor, nil).JSON(t, &p2)
		if len(p2.Items) != 2 || p2.NextCursor != nil || p2.Items[1].NotificationID != ids["k1"] {
			t.Errorf("second page: %+v", p2)
		}
		var mine page
		a.do("GET", "/tokens/"+string(idLedger)+"/solutions?miner="+string(idMiner2)+"&from=2025-03-01T09:30:00Z", nil).JSON(t, &mine)
		if mine.Total != 3 {
			t.Errorf("miner filter: %+v", mine)
		}
	})
}

func TestMining_Series(t *testing.T) {
	forEachMiningBackend(t, func(t *testing.T, a *testAPI) {
		seedMining(t, a)
		var s struct {
			From, To    string
			StepSeconds int64 `json:"step_seconds"`
			Buckets     []struct {
				Start         string
				Solutions     int64
				DifficultyMax *string  `json:"difficulty_max"`
				HashRate      *float64 `json:"network_hash_rate"`
			}
		}
		r := a.do("GET", "/tokens/"+string(idLedger)+"/mining/series?from=2025-03-01T08:30:00Z&to=2025-03-01T12:00:00Z&step=1h", nil)
		if r.Status != http.StatusOK {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		r.JSON(t, &s)
		got := ""
		for _, b := range s.Buckets {
			got += fmt.Sprintf("%s:%d:%s ", b.Start[11:16], b.Solutions, str(b.DifficultyMax))
		}
		want := "08:00:0:<nil> 09:00:1:" + nat2to64p1 + " 10:00:1:" + nat2to128 + " 11:00:2:" + natTwenty9s + " 12:00:0:<nil> "
		if got != want || s.StepSeconds != 3600 || s.From != "2025-03-01T08:00:00Z" || s.To != "2025-03-01T13:00:00Z" {
			t.Errorf("series:\n got %s\nwant %s (%s .. %s)", got, want, s.From, s.To)
		}
		if hr := s.Buckets[3].HashRate; hr == nil || *hr != 1500 {
			t.Errorf("the 11:00 bucket holds the 11:59:30 refresh: %v", hr)
		}
	})
}

// TestMining_BadRequests: bad ranges, steps and ids are a 400 in the one error shape; a token
// nobody knows is a 404.
func TestMining_BadRequests(t *testing.T) {
	a := newTestAPI(t, apiOptions{adminKey: testAdminKey})
	seedMining(t, a)
	tok := "/tokens/" + string(idLedger)
	for _, c := range []struct {
		path string
		want int
	}{
		{tok + "/mining?from=2025-03-01T12:00:00Z&to=2025-03-01T11:00:00Z", 400},
		{tok + "/mining?from=yesterday", 400},
		{tok + "/mining?from=2020-01-01T00:00:00Z", 400},
		{tok + "/mining?top=3", 400},
		{tok + "/mining/series?step=30s", 400},
		{tok + "/mining/series?step=90s", 400},
		{tok + "/mining/series?step=2d", 400},
		{tok + "/mining/series?step=1m&from=2025-02-01T00:00:00Z", 400},
		{tok + "/mining/series?step=1d&from=2025-02-01T00:00:00Z", 200},
		{tok + "/mining/series?step=1m", 400}, // the default 24 hours at 1m: 1,441 buckets
		{tok + "/solutions?to=2025-01-01T00:00:00Z&from=2025-02-01T00:00:00Z", 400},
		{tok + "/solutions?limit=0", 400},
		{"/tokens/not-a-principal/mining", 400},
		{"/tokens/" + string(idNone) + "/mining", 404},
		{"/tokens/" + string(idNone) + "/solutions", 404},
		{"/tokens/" + string(idNone) + "/mining/series", 404},
	} {
		r := a.do("GET", c.path, nil)
		if r.Status != c.want {
			t.Errorf("%s: %d %s, want %d", c.path, r.Status, r.Body, c.want)
		}
	}
}
