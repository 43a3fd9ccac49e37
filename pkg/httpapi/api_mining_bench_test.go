package httpapi_test

import (
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aviate-labs/agent-go/principal"

	"canistry/pkg/httpapi"
	"canistry/pkg/store"
	"canistry/pkg/store/pgtest"
	"canistry/pkg/store/storetest"
)

// Mining benchmark sizes: 1,000,000 stored outcalls over 30 days (70 % solution_found, the
// rest other events), 10 tokens of which the busy one gets 40 % of the solutions (about
// 280,000, 6.5 a minute) and 2 % of them repeat a height; 50 miners refreshed every 10 minutes.
const (
	mbOutcalls = 1_000_000
	mbTokens   = 10
	mbMiners   = 50
	mbDays     = 30
	mbRequests = 200 // per route and round
)

// BenchmarkMining_1M fills each backend with mbOutcalls outcalls (bulk SQL, the intake's row
// shape), lets the follower (store.SyncMining) catch up, and measures GET /tokens/{busy}/mining
// and /mining/series?step=1h over 30 days through the real router on loopback, each request
// with another range end so that the read cache never answers: p50 and p99 per route.
func BenchmarkMining_1M(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		path := filepath.Join(b.TempDir(), "registry.db")
		benchMining(b, path, "sqlite")
	})
	b.Run("postgres", func(b *testing.B) {
		benchMining(b, pgtest.New(b).Database(b), "pgx")
	})
}

func mbID(kind, i int) string {
	return principal.Principal{Raw: []byte{0, 0, 0, 0, byte(kind), 0, byte(i), 1, 1}}.Encode()
}

func benchMining(b *testing.B, database, driver string) {
	st, err := store.Open(b.Context(), database)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	now := time.Date(2025, 3, 31, 0, 0, 0, 0, time.UTC)
	t0 := time.Now()
	seedMining1M(b, driver, database, now)
	seeded := time.Since(t0)
	t0 = time.Now()
	if err := storetest.SyncMining(b.Context(), st); err != nil {
		b.Fatal(err)
	}
	synced := time.Since(t0)
	// After the bulk load, what the database's own housekeeping would do within a minute: on
	// SQLite the store's periodic checkpoint of the WAL; on PostgreSQL autovacuum's ANALYZE. A
	// table that grew from empty by a million rows in one go has no statistics yet, and the
	// planner then sorts every solution of a range to find the first one (342 ms per /mining
	// instead of 6 ms until autovacuum ran, in one run); a registry that grows over time has them.
	housekeeping := map[string]string{"sqlite": "PRAGMA wal_checkpoint(TRUNCATE)", "pgx": "ANALYZE"}[driver]
	db, err := sql.Open(driver, database)
	if err != nil {
		b.Fatal(err)
	}
	_, err = db.Exec(housekeeping)
	db.Close()
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(httpapi.NewAPIHandler(httpapi.APIDeps{Store: st, Logger: slog.New(slog.DiscardHandler),
		Status: httpapi.StatusDeps{Store: st}, Now: func() time.Time { return now }}))
	b.Cleanup(srv.Close)
	busy := mbID(1, 0)
	routes := map[string]string{"mining": "/tokens/" + busy + "/mining?from=%s&to=%s", "series": "/tokens/" + busy + "/mining/series?step=1h&from=%s&to=%s"}
	lat := map[string][]time.Duration{}
	i := 0
	for b.Loop() {
		for _, name := range []string{"mining", "series"} {
			for range mbRequests {
				i++
				to := now.Add(-time.Duration(i) * time.Second)
				url := srv.URL + fmt.Sprintf(routes[name], to.Add(-mbDays*24*time.Hour).Format(time.RFC3339), to.Format(time.RFC3339))
				start := time.Now()
				res, err := http.Get(url)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				lat[name] = append(lat[name], time.Since(start))
				if res.StatusCode != http.StatusOK {
					b.Fatalf("%s: %d", url, res.StatusCode)
				}
			}
		}
	}
	for name, l := range lat {
		slices.Sort(l)
		b.ReportMetric(float64(l[len(l)/2].Microseconds())/1000, name+"_p50_ms")
		b.ReportMetric(float64(l[len(l)*99/100].Microseconds())/1000, name+"_p99_ms")
	}
	b.ReportMetric(seeded.Seconds(), "seed_s")
	b.ReportMetric(float64(mbOutcalls)*0.7/synced.Seconds(), "follower_solutions/s")
}

// seedMining1M writes the canisters, miners, miner_stats and notifications of the benchmark in
// multi-row INSERTs (database/sql, one transaction).
func seedMining1M(b *testing.B, driver, dsn string, now time.Time) {
	db, err := sql.Open(driver, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	ins := &bulkInsert{b: b, tx: tx, driver: driver}
	at := now.UnixMilli()
	for i := range mbTokens {
		ins.row("canisters (canister_id, kind, created_at, updated_at)", mbID(1, i), "token", at, at)
	}
	for i := range mbMiners {
		ins.row("canisters (canister_id, kind, name, created_at, updated_at)", mbID(2, i), "miner", fmt.Sprintf("rig %d", i), at, at)
	}
	ins.flush()
	for i := range mbMiners { // miners 0-19 mine the busy token, the others one token each
		tok := 0
		if i >= 20 {
			tok = i % mbTokens
		}
		ins.row("miners (canister_id, current_token, is_mining, updated_at)", mbID(2, i), mbID(1, tok), true, at)
	}
	ins.flush()
	start := now.Add(-mbDays * 24 * time.Hour).UnixMilli()
	for t := start; t < at; t += 10 * 60_000 {
		for m := range mbMiners {
			ins.row("miner_stats (canister_id, observed_at, blocks_mined, total_hashes, hash_rate, total_rewards)", mbID(2, m), t+int64(m)*1000, 0, 0, 1e6+float64(m), 0)
		}
	}
	seedOutcalls(ins, start, at)
	ins.flush()
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}

func seedOutcalls(ins *bulkInsert, start, end int64) {
	rng := rand.New(rand.NewPCG(1, 27))
	heights := make([]int, mbTokens)
	events := []string{"token_connected", "mining_started", "hashrate_report"}
	for i := range mbOutcalls {
		at := start + (end-start)*int64(i)/mbOutcalls
		miner := rng.IntN(mbMiners)
		ev, data := events[i%3], fmt.Sprintf(`{"token_id":%q}`, mbID(1, miner%mbTokens))
		if rng.IntN(10) < 7 {
			tok := rng.IntN(mbTokens + 6) // the busy token 0 gets 7 of 16 draws: about 40 %
			if tok >= mbTokens {
				tok, miner = 0, miner%20
			}
			if rng.IntN(50) > 0 {
				heights[tok]++
			}
			ev = "solution_found"
			data = fmt.Sprintf(`{"token_id":%q,"ticker":"T","block_height":%d,"nonce":%d,"hash":"00ab","difficulty":"%d%019d","reward":"5000000000","decimals":8}`,
				mbID(1, tok), heights[tok], rng.Uint32(), 1+rng.IntN(900), rng.Uint64()>>1)
		}
		ins.row("notifications (dedup_key, miner_id, event, ic_timestamp, data, body_hash, received_at, copies, diverged, response_status, response_body)",
			fmt.Sprintf("k%d", i), mbID(2, miner), ev, at*1_000_000, data, "h", at, 13, false, 200, []byte(`{"ok":true}`))
	}
}

// bulkInsert batches rows of one table into multi-row INSERTs of up to 500 rows.
type bulkInsert struct {
	b      *testing.B
	tx     *sql.Tx
	driver string
	table  string
	rows   int
	args   []any
}

func (in *bulkInsert) row(table string, vals ...any) {
	if in.table != table || in.rows == 500 {
		in.flush()
		in.table = table
	}
	in.rows++
	in.args = append(in.args, vals...)
}

func (in *bulkInsert) flush() {
	if in.rows == 0 {
		return
	}
	per := len(in.args) / in.rows
	var q strings.Builder
	q.WriteString("INSERT INTO " + in.table + " VALUES ")
	n := 0
	for r := range in.rows {
		if r > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(")
		for c := range per {
			if c > 0 {
				q.WriteString(", ")
			}
			n++
			if in.driver == "pgx" {
				fmt.Fprintf(&q, "$%d", n)
			} else {
				q.WriteString("?")
			}
		}
		q.WriteString(")")
	}
	if _, err := in.tx.Exec(q.String(), in.args...); err != nil {
		in.b.Fatalf("insert into %s: %v", in.table, err)
	}
	in.rows, in.args = 0, in.args[:0]
}
