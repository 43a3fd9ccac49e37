package store

import (
	"database/sql"
	"strings"

	"canistry/pkg/registry"
)

// where collects the conditions and arguments of one list query.
type where struct {
	conds []string
	args  []any
	like  string // the operator of contains: LIKE, or ILIKE on PostgreSQL
}

// where starts a list query's conditions for the store's backend.
func (s *Store) where() where {
	if s.pg {
		return where{like: "ILIKE"}
	}
	return where{like: "LIKE"}
}

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

// keyset adds the page position on key (a unique, stable integer column) and returns the
// ORDER BY … LIMIT clause, which fetches one row more than the page to learn whether another
// page follows.
func (w *where) keyset(key string, p registry.Page) string {
	dir := "ASC"
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

// nextCursor trims the extra row fetched by keyset and returns the cursor of the next page, or
// nil when there is none. key returns the keyset value of item i.
func nextCursor(n, limit int, desc bool, key func(i int) int64) *registry.Cursor {
	if n <= limit {
		return nil
	}
	return &registry.Cursor{Key: key(limit - 1), Desc: desc}
}

func nullTime(v sql.NullInt64) *int64 {
	if !v.Valid {
		return nil
	}
	return &v.Int64
}

// textList decodes a JSON array of plain strings as stored in tags and controllers. Those
// values never need escapes (tags are [a-z0-9._-], controllers principal text), so the common
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
