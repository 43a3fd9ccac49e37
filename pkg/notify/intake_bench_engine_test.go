package notify_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"canistry/pkg/store"
)

// The engine ceiling of BenchmarkIntakeDistinct (issue 26): a bare net/http handler that does
// the least any server must do to record each distinct notification exactly once and durably,
// with group commit, on its own database of the same engine, driver and durability settings as
// the store. Its rate is the most any design of the intake could reach on this box.

// engineBatch bounds the rows one engine transaction inserts.
const engineBatch = 64

// engineReq is one request waiting on the engine's writer.
type engineReq struct {
	key, body string
	done      chan error
}

// engine is the ceiling's writer: ONE goroutine that takes whatever is queued (up to
// engineBatch) and commits it as one multi-row INSERT … ON CONFLICT (key) DO NOTHING
// RETURNING key. A single statement in autocommit is one transaction: on SQLite one
// implicit write transaction, on PostgreSQL one round trip (no BEGIN/COMMIT trips).
type engine struct {
	db       *sql.DB
	dollars  bool // PostgreSQL placeholders
	stmts    map[int]*sql.Stmt
	queue    chan engineReq
	inserted atomic.Int64 // keys the INSERTs returned as new
	wg       sync.WaitGroup
}

// newEngine opens the engine's database for backend beside the intake's store st: a file in a
// temp directory with the store's pragmas (pkg/store openPool), or a new database on the same
// PostgreSQL server through the same pgx driver.
func newEngine(b *testing.B, backend string, st *store.Store) *engine {
	b.Helper()
	driver, dsn, ddl := "sqlite", store.SQLiteDSN(filepath.Join(b.TempDir(), "engine.db"), false),
		"CREATE TABLE notices (key TEXT PRIMARY KEY, body TEXT, received_at INTEGER)"
	if backend == "postgres" {
		// BIGINT: PostgreSQL's INTEGER is 32 bits, SQLite's 64.
		driver, dsn, ddl = "pgx", pgEngineDatabase(b, st.Path()),
			"CREATE TABLE notices (key TEXT PRIMARY KEY, body TEXT, received_at BIGINT)"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		b.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	if _, err := db.ExecContext(b.Context(), ddl); err != nil {
		b.Fatal(err)
	}
	e := &engine{db: db, dollars: backend == "postgres", stmts: map[int]*sql.Stmt{},
		queue: make(chan engineReq, 4*engineBatch)}
	e.wg.Go(e.run)
	b.Cleanup(func() { close(e.queue); e.wg.Wait(); _ = db.Close() })
	return e
}

// pgEngineDatabase creates a database named engine on the server of the intake's database
// (pgtest: trust authentication as user postgres, which store.Path redacts) and returns its URL.
func pgEngineDatabase(b *testing.B, intakeURL string) string {
	b.Helper()
	u, err := url.Parse(intakeURL)
	if err != nil {
		b.Fatal(err)
	}
	u.User = url.User("postgres")
	admin, err := sql.Open("pgx", u.String())
	if err != nil {
		b.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.ExecContext(b.Context(), "CREATE DATABASE engine TEMPLATE template0"); err != nil {
		b.Fatal(err)
	}
	u.Path = "/engine"
	return u.String()
}

func (e *engine) run() {
	batch := make([]engineReq, 0, engineBatch)
	for first := range e.queue {
		batch = append(batch[:0], first)
	fill:
		for len(batch) < engineBatch {
			select {
			case r, ok := <-e.queue:
				if !ok {
					break fill
				}
				batch = append(batch, r)
			default:
				break fill
			}
		}
		err := e.commit(batch)
		for _, r := range batch {
			r.done <- err
		}
	}
}

// commit inserts batch with one statement, prepared once per batch size and reused.
func (e *engine) commit(batch []engineReq) error {
	st, err := e.stmt(len(batch))
	if err != nil {
		return err
	}
	now := time.Now().UnixNano()
	args := make([]any, 0, 3*len(batch))
	for _, r := range batch {
		args = append(args, r.key, r.body, now)
	}
	rows, err := st.QueryContext(context.Background(), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var n int64
	for rows.Next() {
		n++
	}
	e.inserted.Add(n)
	return rows.Err()
}

func (e *engine) stmt(n int) (*sql.Stmt, error) {
	if st := e.stmts[n]; st != nil {
		return st, nil
	}
	var q strings.Builder
	q.WriteString("INSERT INTO notices (key, body, received_at) VALUES ")
	for i := range n {
		if i > 0 {
			q.WriteByte(',')
		}
		if e.dollars {
			q.WriteString("($" + strconv.Itoa(3*i+1) + ",$" + strconv.Itoa(3*i+2) + ",$" + strconv.Itoa(3*i+3) + ")")
		} else {
			q.WriteString("(?,?,?)")
		}
	}
	q.WriteString(" ON CONFLICT (key) DO NOTHING RETURNING key")
	st, err := e.db.Prepare(q.String())
	if err != nil {
		return nil, err
	}
	e.stmts[n] = st
	return st, nil
}

// handler reads the body, takes the dedup key as the intake does (miner_id:timestamp:event,
// decoding only those three fields), waits for the writer's commit and writes a fixed reply
// with the bare handler's headers.
func (e *engine) handler() http.Handler {
	reply := []byte(acceptedBody("engine"))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		var n struct {
			Event     string `json:"event"`
			MinerID   string `json:"miner_id"`
			Timestamp uint64 `json:"timestamp"`
		}
		if err != nil || json.Unmarshal(body, &n) != nil {
			http.Error(w, `{"error":"bad notification"}`, http.StatusBadRequest)
			return
		}
		done := make(chan error, 1)
		e.queue <- engineReq{key: n.MinerID + ":" + strconv.FormatUint(n.Timestamp, 10) + ":" + n.Event,
			body: string(body), done: done}
		if err := <-done; err != nil {
			http.Error(w, `{"error":"`+err.Error()+`"}`, http.StatusInternalServerError)
			return
		}
		w.Header()["Date"] = nil
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(reply)
	})
}

// engineRun is the engine target's share of one BenchmarkIntakeDistinct run.
type engineRun struct {
	e      *engine
	target benchTarget
	wall   time.Duration
	lat    []time.Duration
}

func newEngineRun(b *testing.B, backend string, st *store.Store) *engineRun {
	e := newEngine(b, backend, st)
	return &engineRun{e: e, target: serve(b, e.handler())}
}

// measure sends one batch of distinct notifications to the engine.
func (r *engineRun) measure(b *testing.B, body func(int) []byte) {
	d, l := load(b, r.target, benchBatch, body)
	r.wall += d
	r.lat = append(r.lat, l...)
}

// report checks that every notification was recorded once and reports the engine's rate, p99,
// its ratio to the bare handler and the intake's share of it (of_engine).
func (r *engineRun) report(b *testing.B, n float64, tBare, tIntake time.Duration) {
	if got := r.e.inserted.Load(); float64(got) != n {
		b.Fatalf("engine recorded %d notifications, want %.0f", got, n)
	}
	slices.Sort(r.lat)
	b.ReportMetric(n/r.wall.Seconds(), "engine_notifications/s")
	b.ReportMetric(percentile(r.lat, 0.99), "engine_p99_ms")
	b.ReportMetric(tBare.Seconds()/r.wall.Seconds(), "engine_ratio_vs_bare")
	b.ReportMetric(r.wall.Seconds()/tIntake.Seconds(), "of_engine")
}
