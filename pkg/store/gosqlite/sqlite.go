// Package sqlite stands in for github.com/glebarez/go-sqlite (go.mod replaces it with this
// directory): it links the maintained upstream driver, modernc.org/sqlite, under the same
// database/sql name ("sqlite") and error type, so that gorm's dialector github.com/glebarez/sqlite
// runs on it unchanged.
//
// Why: glebarez/go-sqlite v1.21.2 is a 2023 fork of modernc's database/sql layer whose
// driver.Stmt is only the SQL text. Every Exec and Query of a "prepared" statement runs
// sqlite3_prepare_v2 and sqlite3_finalize again (and starts a goroutine to watch the context),
// so no statement cache above it (gorm's PrepareStmt, database/sql's Stmt) can save the parse:
// it was 13 % of the notifier's CPU (issue 26). modernc.org/sqlite (v1.62.0, the SQLite library
// glebarez/go-sqlite already linked) keeps the compiled statement of a single-statement Stmt
// for its whole life. The two packages cannot both be linked: each registers "sqlite".
package sqlite

import msqlite "modernc.org/sqlite"

// Error is the driver's error, with its SQLite result code (Code).
type Error = msqlite.Error
