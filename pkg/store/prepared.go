package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"gorm.io/gorm"
)

// The claim path's statements (claimbatch.go) run through database/sql directly, on the
// *sql.Tx under the store's write transaction, each prepared once on the writer pool and reused
// (doc.go). gorm's PrepareStmt cannot do that inside a transaction: it prepares a statement
// first met in a transaction on that *sql.Tx, and database/sql's Tx.StmtContext re-prepares a
// statement that belongs to another (finished) transaction on every later use, so every
// statement of every write was parsed again.
//
// A statement cannot be prepared on the writer pool while the transaction holds its one
// connection, so the first use of a statement runs it unprepared, and the statements met that
// way are prepared after the transaction (prepareMissed), once. PostgreSQL needs none of this
// (pgx prepares and caches every statement per connection by its text); there stmtCache only
// rewrites the placeholders.

// The read pool's one-row reads by key (readOne, row.go) use a stmtCache of their own on the
// read pool: there no transaction holds a connection, so a statement is prepared on its first
// use and kept (database/sql prepares it again on each of the pool's connections once).

// stmtCache holds the prepared statements of one pool, by their SQL text with ? placeholders.
type stmtCache struct {
	db      *sql.DB
	dollars bool // PostgreSQL: $n placeholders, and pgx's own statement cache

	mu     sync.Mutex
	stmts  map[string]*sql.Stmt
	missed map[string]bool // used in a transaction before it was prepared
	texts  map[string]string
}

func newStmtCache(db *gorm.DB, dollars bool) (*stmtCache, error) {
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	return &stmtCache{db: sqlDB, dollars: dollars, stmts: map[string]*sql.Stmt{}, missed: map[string]bool{},
		texts: map[string]string{}}, nil
}

// query runs q (? placeholders) in tx: its prepared statement when there is one, else its text.
func (c *stmtCache) query(ctx context.Context, tx *sql.Tx, q string, args ...any) (*sql.Rows, error) {
	if st, text := c.lookup(q); st != nil {
		return tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	} else {
		return tx.QueryContext(ctx, text, args...)
	}
}

// queryPool runs q (? placeholders) on the pool, outside any transaction: its prepared
// statement, prepared now if it is not yet. On PostgreSQL it runs the text (pgx prepares and
// caches it per connection).
func (c *stmtCache) queryPool(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st, text := c.lookup(q)
	if st == nil && !c.dollars {
		var err error
		if st, err = c.prepare(ctx, q, text); err != nil {
			return nil, err
		}
	}
	if st == nil {
		return c.db.QueryContext(ctx, text, args...)
	}
	return st.QueryContext(ctx, args...)
}

// prepare prepares q (text on the driver) and keeps it, unless another caller kept one
// meanwhile: then it returns that one.
func (c *stmtCache) prepare(ctx context.Context, q, text string) (*sql.Stmt, error) {
	st, err := c.db.PrepareContext(ctx, text)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.missed, q)
	if kept := c.stmts[q]; kept != nil {
		_ = st.Close()
		return kept, nil
	}
	c.stmts[q] = st
	return st, nil
}

// exec is query for a statement that returns no rows.
func (c *stmtCache) exec(ctx context.Context, tx *sql.Tx, q string, args ...any) error {
	var err error
	if st, text := c.lookup(q); st != nil {
		_, err = tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	} else {
		_, err = tx.ExecContext(ctx, text, args...)
	}
	return err
}

// lookup returns q's prepared statement, or nil and the text to run (noting it for
// prepareMissed).
func (c *stmtCache) lookup(q string) (*sql.Stmt, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.stmts[q]; st != nil {
		return st, ""
	}
	text, ok := c.texts[q]
	if !ok {
		text = c.text(q)
		c.texts[q] = text
	}
	if !c.dollars {
		c.missed[q] = true
	}
	return nil, text
}

// text is q as the driver takes it (lookup keeps it; statements run once call it directly).
func (c *stmtCache) text(q string) string {
	if c.dollars {
		return dollarPlaceholders(q)
	}
	return q
}

// prepareMissed prepares the statements run unprepared so far. Call it outside any
// transaction of the pool. c.mu is not held while preparing: a prepare waits for the pool's
// one connection, which a transaction may hold while it looks statements up. A failure leaves
// a statement unprepared (it runs as text, and is tried again after its next use).
func (c *stmtCache) prepareMissed(ctx context.Context) {
	c.mu.Lock()
	todo := make(map[string]string, len(c.missed))
	for q := range c.missed {
		todo[q] = c.texts[q]
		delete(c.missed, q)
	}
	c.mu.Unlock()
	for q, text := range todo {
		_, _ = c.prepare(ctx, q, text) // on failure it stays unprepared, tried after its next use
	}
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.stmts {
		_ = st.Close()
		delete(c.stmts, q)
	}
}

// dollarPlaceholders numbers the ? placeholders of q as $1, $2, … (PostgreSQL). The store's
// hand-written SQL has no ? inside literals.
func dollarPlaceholders(q string) string {
	var b strings.Builder
	b.Grow(len(q) + len(q)/4)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] != '?' {
			b.WriteByte(q[i])
			continue
		}
		n++
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(n))
	}
	return b.String()
}

// sqlTx is the database/sql transaction under a gorm transaction of s.write.
func sqlTx(tx *gorm.DB) (*sql.Tx, error) {
	switch p := tx.Statement.ConnPool.(type) {
	case *sql.Tx:
		return p, nil
	case *gorm.PreparedStmtTX:
		if t, ok := p.Tx.(*sql.Tx); ok {
			return t, nil
		}
	}
	return nil, fmt.Errorf("store: the write transaction is a %T, not a *sql.Tx", tx.Statement.ConnPool)
}
