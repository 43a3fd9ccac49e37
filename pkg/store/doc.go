// Package store is canistry's database adapter: GORM over github.com/glebarez/sqlite (pure Go;
// its driver is modernc.org/sqlite, linked in place of glebarez/go-sqlite, pkg/store/gosqlite),
// one database file shared by the three binaries, or over PostgreSQL (gorm.io/driver/postgres,
// pgx v5) when Open is given a postgres:// URL, for several hosts (postgres.go).
//
// Concurrency model. The file is in WAL mode, so readers never block the writer. Within one
// process every write goes through a single dedicated connection (writes queue in Go instead of
// spinning in SQLite's busy handler), and every write transaction begins IMMEDIATE so that a
// read-then-write never fails a lock upgrade. Across processes, busy_timeout waits for the lock,
// and Store.write retries SQLITE_BUSY with backoff, so no caller ever sees "database is locked".
//
// The rules every file here follows:
//
//   - Reads are hand-written SQL. A table (or a join) has its column list as a constant next to
//     the one function that scans it (canisterColumns and scanCanister, tokenRowColumns and
//     tokenRow.targets, …); many rows are read with queryList, one row with
//     scan(s.readOne(ctx, q, args...)) (sql.ErrNoRows is "not found"), a single value with
//     s.readOne(…).Scan, a column of values with queryList and scanValue. readOne runs a fixed
//     SQL text as a database/sql statement prepared once on the read pool, without gorm (a
//     point read by key is most of an uncached GET, issue 26); inside a write the same is
//     one(tx.Raw(q, args...)), and one(s.read(ctx).Raw(…)) is left for a text composed per call
//     (a list's count). A table joined to a point read adds its columns to the same statement
//     (scanWith) rather than a second read. Never gorm's Row: its nil *sql.Row panics when a
//     statement cannot be prepared (row.go). No GORM query builder (Where, Find, Take, Count,
//     Pluck) and no Raw(…).Scan into structs: the scan is explicit, prepared once and costs no
//     reflection.
//   - Every list and time series is paged by listPage (listing.go) and returns registry.List:
//     total, keyset position, query, trim, in one place.
//   - Writes run in s.write(ctx, fn), one transaction on the writer connection, retried while
//     the database is busy (the mining follower's in s.writeOn(ctx, s.fw, fn): on PostgreSQL a
//     connection of its own without the write lock, mining_sync.go; on SQLite the same writer). Inside it a whole new row is inserted from its row type
//     (rows.go) with tx.Create (clause.OnConflict for an upsert); every other statement
//     (UPDATE, DELETE, INSERT … SELECT, RETURNING) is hand-written SQL through tx.Exec, or
//     one(tx.Raw(…)) when it returns a row.
//   - The hot write path, claiming a batch of notifications (claimbatch.go, claimBatch), is the
//     one exception to tx.Create/tx.Exec: a fixed set of multi-row statements run through
//     database/sql on the write transaction's own *sql.Tx (sqlTx), each prepared once per shape
//     on the writer pool and reused (stmtCache, prepared.go), because gorm re-prepares every
//     statement inside a transaction. A write that adds rows for each claimed notification
//     adds one multi-row statement to claimBatch, not a statement per claim, and on
//     PostgreSQL one data-modifying CTE to claimPipeSQL (claimpipe.go): there a batch of new
//     keys is written in one round trip, a pgx pipeline that takes the same write lock.
//   - An observation is written only when it differs from what is stored (saveIfChanged),
//     compared inside the write transaction.
//   - Everything SQLite and PostgreSQL do differently is a field of the dialect (dialect.go);
//     the rest runs the same SQL on both. TestSchema_Parity checks that the two migration sets
//     build the same schema.
//   - Driver errors become registry errors in one place, translate (errors.go).
package store
