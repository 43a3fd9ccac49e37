package store

import (
	"context"
	"database/sql"

	"gorm.io/gorm"
)

// readOne returns q, a read of at most one row with a fixed SQL text (? placeholders, scalar
// arguments), as a scanner on the read pool: its Scan runs q as a database/sql statement
// prepared once and kept (s.readStmts, prepared.go), without gorm, and scans the first row, or
// returns sql.ErrNoRows. It is how the store reads one row outside a write (a point read by
// key is most of an uncached GET, issue 26); one(tx.Raw(…)) is the same inside a write, and
// one(s.read(ctx).Raw(…)) remains only for a text composed per call (a list's count), which
// gorm's bounded statement cache keeps.
func (s *Store) readOne(ctx context.Context, q string, args ...any) scanner {
	return oneRow{func() (*sql.Rows, error) { return s.readStmts.queryPool(ctx, q, args...) }}
}

// one returns q, a statement that returns at most one row, as a scanner: its Scan runs q and
// scans the first row, or returns sql.ErrNoRows. gorm's Row is not used because with PrepareStmt it hands back an empty sql.Row when the
// statement cannot be prepared (the context ended, the database is busy or failing) and Scan
// on that panics; Rows returns the error (seen when a claim's write outlived its deadline while
// another process held the SQLite write lock).
func one(q *gorm.DB) scanner { return oneRow{q.Rows} }

// oneRow is a scanner of the first row of what rows returns.
type oneRow struct{ rows func() (*sql.Rows, error) }

func (o oneRow) Scan(dest ...any) error {
	rows, err := o.rows()
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	return rows.Close()
}
