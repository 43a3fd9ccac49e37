package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"gorm.io/gorm"

	"canistry/pkg/registry"
)

// where collects the conditions and arguments of one list query.
type where struct {
	conds []string
	args  []any
	like  string // the operator of contains: LIKE, or ILIKE on PostgreSQL
}

// where starts a list query's conditions for the store's backend.
func (s *Store) where() where { return where{like: s.d.like} }

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

// sql returns " WHERE a AND b" or "".
func (w *where) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// stale adds the staleness condition on the canisters table aliased c.
func (w *where) stale(s registry.Staleness) {
	if s.Want == nil {
		return
	}
	if *s.Want {
		w.add("(c.last_success_at IS NULL OR c.last_success_at < ?)", ms(s.Before))
	} else {
		w.add("c.last_success_at >= ?", ms(s.Before))
	}
}

// contains adds "any of columns contains q", case-insensitive for ASCII: SQLite's LIKE, or
// PostgreSQL's ILIKE on the "C" collation of every text column.
func (w *where) contains(q string, columns ...string) {
	if q == "" {
		return
	}
	pattern := "%" + likeEscaper.Replace(q) + "%"
	parts := make([]string, len(columns))
	for i, c := range columns {
		parts[i] = c + " " + w.like + ` ? ESCAPE '\'`
		w.args = append(w.args, pattern)
	}
	w.conds = append(w.conds, "("+strings.Join(parts, " OR ")+")")
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// listing is one list or time-series read, paged by listPage.
type listing[T any] struct {
	what  string // for errors: "tokens", "stats of …"
	count string // FROM clause the total counts (with its joins); "" for a list never counted
	query string // SELECT … FROM …, before the WHERE clause
	// keys is the keyset: one unique, stable integer column; or a column and the row id as its
	// tie (the time series: observed_at, id), always ascending.
	keys []string
	// scan reads one row and returns its item and its keyset position.
	scan func(scanner) (T, registry.Cursor, error)
	// countWhere, when set, are the total's conditions if they differ from the page's.
	countWhere *where
}

// listPage is the one paging tail of every list and range read: the total when p asks for it
// (counted before the page position is added), then the rows after p's position in keyset
// order, one more than the limit to learn whether a next page follows, trimmed to the limit
// with the cursor of the next page.
func listPage[T any](ctx context.Context, s *Store, l listing[T], w where, p registry.Page) (registry.List[T], error) {
	var page registry.List[T]
	if p.WithTotal && l.count != "" {
		cw := &w
		if l.countWhere != nil {
			cw = l.countWhere
		}
		var n int64
		if err := one(s.read(ctx).Raw("SELECT count(*) FROM "+l.count+cw.sql(), cw.args...)).Scan(&n); err != nil {
			return page, fmt.Errorf("count %s: %w", l.what, translate(err))
		}
		page.Total = &n
	}
	limit := pageLimit(p)
	order := w.keyset(l.keys, p)
	var next registry.Cursor // the position of the page's last row
	n := 0
	items, err := queryList(s.read(ctx), l.query+w.sql()+order, append(w.args, limit+1), func(sc scanner) (T, error) {
		v, pos, err := l.scan(sc)
		if n++; n == limit {
			next = pos
		}
		return v, err
	})
	if err != nil {
		return page, fmt.Errorf("list %s: %w", l.what, err)
	}
	if len(items) > limit {
		next.Desc = p.Desc
		page.Next = &next
		items = items[:limit]
	}
	page.Items = items
	return page, nil
}

// scanValue is the scan of a one-column row.
func scanValue[T any](sc scanner) (T, error) {
	var v T
	err := sc.Scan(&v)
	return v, err
}

// keyed is scan for a list whose items carry their unique key.
func keyed[T any](scan func(scanner) (T, error), key func(*T) int64) func(scanner) (T, registry.Cursor, error) {
	return func(sc scanner) (T, registry.Cursor, error) {
		v, err := scan(sc)
		return v, registry.Cursor{Key: key(&v)}, err
	}
}

// keyset adds the page position on keys and returns the ORDER BY … LIMIT clause. One key is
// walked either way from After; a key with its tie only ascending from (After, AfterTie).
func (w *where) keyset(keys []string, p registry.Page) string {
	if len(keys) == 2 {
		if p.AfterTie > 0 {
			w.add("("+keys[0]+", "+keys[1]+") > (?, ?)", p.After, p.AfterTie)
		}
		return " ORDER BY " + keys[0] + ", " + keys[1] + " LIMIT ?"
	}
	key, dir := keys[0], "ASC"
	if p.Desc {
		dir = "DESC"
	}
	if p.After > 0 {
		if p.Desc {
			w.add(key+" < ?", p.After)
		} else {
			w.add(key+" > ?", p.After)
		}
	}
	return " ORDER BY " + key + " " + dir + " LIMIT ?"
}

// pageLimit returns the effective limit of p.
func pageLimit(p registry.Page) int {
	switch {
	case p.Limit <= 0:
		return registry.DefaultPageLimit
	case p.Limit > registry.MaxPageLimit:
		return registry.MaxPageLimit
	}
	return p.Limit
}

// queryList runs q on db (the read pool bound to a context, or a write transaction) and scans
// every row with scan.
func queryList[T any](db *gorm.DB, q string, args []any, scan func(scanner) (T, error)) ([]T, error) {
	rows, err := db.Raw(q, args...).Rows()
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, translate(err)
		}
		out = append(out, v)
	}
	return out, translate(rows.Err())
}

func nullTime(v sql.NullInt64) *int64 {
	if !v.Valid {
		return nil
	}
	return &v.Int64
}

// textList decodes a JSON array of plain strings as stored in tags and controllers. Those
// values never need escapes (tags are [a-z0-9._:-], controllers principal text), so the common
// case is split by hand; anything else goes through encoding/json.
func textList(s string) []string {
	if s == "[]" || s == "" {
		return []string{}
	}
	if len(s) < 4 || s[0] != '[' || s[len(s)-1] != ']' || strings.ContainsAny(s, `\ `) {
		return parseList(s)
	}
	parts := strings.Split(s[1:len(s)-1], ",")
	for i, p := range parts {
		if len(p) < 2 || p[0] != '"' || p[len(p)-1] != '"' || strings.Contains(p[1:len(p)-1], `"`) {
			return parseList(s)
		}
		parts[i] = p[1 : len(p)-1]
	}
	return parts
}
