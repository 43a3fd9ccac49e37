package store

import (
	"context"
	"fmt"

	"gorm.io/gorm"
)

// writeConn is a pool of one connection that write transactions run on, one at a time in this
// process (Store.writeOn).
type writeConn struct {
	db *gorm.DB
	// held is taken while a write uses db: a write waits for it on its ctx, where waiting for
	// the pool's one connection (begun without ctx's deadline, see Store.write) would not end
	// with ctx.
	held  chan struct{}
	stmts *stmtCache // statements prepared on db (prepared.go)
	// lock runs first in each of its transactions: the dialect's write lock, or "" (SQLite's
	// IMMEDIATE transaction holds its lock already; the PostgreSQL follower's takes none).
	lock string
}

func newWriteConn(db *gorm.DB, dollars bool, lock string) (*writeConn, error) {
	stmts, err := newStmtCache(db, dollars)
	if err != nil {
		return nil, err
	}
	return &writeConn{db: db, held: make(chan struct{}, 1), stmts: stmts, lock: lock}, nil
}

// once runs one attempt of a write on c, waiting for it no longer than ctx (another write of
// this process may hold it).
func (c *writeConn) once(ctx context.Context, locked func(tx *gorm.DB) error) error {
	release, err := c.hold(ctx)
	if err != nil {
		return err
	}
	defer release()
	return c.db.WithContext(context.WithoutCancel(ctx)).Transaction(locked)
}

// hold takes c for a write (once, claimPipelined), waiting no longer than ctx.
func (c *writeConn) hold(ctx context.Context) (release func(), err error) {
	select {
	case c.held <- struct{}{}:
		return func() { <-c.held }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the writer connection: %w", ctx.Err())
	}
}

func (c *writeConn) close() error {
	c.stmts.close()
	sqlDB, err := c.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}
