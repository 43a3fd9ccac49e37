package httpapi_test

import (
	"database/sql"
	"net/http"
	"strconv"
	"testing"

	"github.com/gin-gonic/gin"

	"canistry/pkg/store"
)

// engineDB is the database a point read's engine ceiling reads (BenchmarkAPI_Loopback): a
// database/sql driver, its data source and the pool's size.
type engineDB struct {
	driver, dsn string
	conns       int
}

// handler opens a pool on the database and returns a bare gin handler that runs route's
// one-row read (store.PointReadSQL) for the id in the path through a statement prepared once
// on that pool, and writes the row as a JSON object of its columns (404 when there is none).
func (e engineDB) handler(b *testing.B, route string) gin.HandlerFunc {
	b.Helper()
	db, err := sql.Open(e.driver, e.dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	db.SetMaxOpenConns(e.conns)
	db.SetMaxIdleConns(e.conns)
	q := store.PointReadSQL(route)
	if e.driver == "pgx" {
		q = dollars(q)
	}
	stmt, err := db.PrepareContext(b.Context(), q)
	if err != nil {
		b.Fatal(err)
	}
	return func(c *gin.Context) {
		body, err := engineRow(stmt, c)
		switch {
		case err == sql.ErrNoRows:
			c.AbortWithStatus(http.StatusNotFound)
		case err != nil:
			c.AbortWithStatus(http.StatusInternalServerError)
		default:
			c.Data(http.StatusOK, "application/json; charset=utf-8", body)
		}
	}
}

// engineRow runs stmt for the id in c's path and returns its first row as a JSON object of
// its columns' text, appended by hand with no reflection (the seeded data is printable ASCII,
// which strconv quotes as JSON does; a NULL is "").
func engineRow(stmt *sql.Stmt, c *gin.Context) ([]byte, error) {
	rows, err := stmt.QueryContext(c.Request.Context(), c.Param("id"))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, err
		}
		return nil, sql.ErrNoRows
	}
	vals := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, err
	}
	body := append(make([]byte, 0, 1024), '{')
	for i, col := range cols {
		if i > 0 {
			body = append(body, ',')
		}
		body = strconv.AppendQuote(body, col)
		body = append(body, ':')
		body = strconv.AppendQuote(body, string(vals[i]))
	}
	return append(body, '}'), rows.Close()
}

// targetIndex is the index of the target named name.
func targetIndex(targets []benchTarget, name string) int {
	for i, t := range targets {
		if t.name == name {
			return i
		}
	}
	panic("no target " + name)
}
