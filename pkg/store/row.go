package store

import (
	"database/sql"

	"gorm.io/gorm"
)

// one returns q, a statement that returns at most one row, as a scanner: its Scan runs q and
// scans the first row, or returns sql.ErrNoRows. It is the store's only way to read one row.
// gorm's Row is not used because with PrepareStmt it hands back an empty sql.Row when the
// statement cannot be prepared (the context ended, the database is busy or failing) and Scan
// on that panics; Rows returns the error (seen when a claim's write outlived its deadline while
// another process held the SQLite write lock).
func one(q *gorm.DB) scanner { return oneRow{q} }

type oneRow struct{ q *gorm.DB }

func (o oneRow) Scan(dest ...any) error {
	rows, err := o.q.Rows()
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
