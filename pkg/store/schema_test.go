package store_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"gorm.io/gorm"

	"canistry/pkg/store"
)

// schemaDiffs are the differences between the two migrated schemas that are meant, each with
// its reason; any other difference fails TestSchema_Parity.
var schemaDiffs = map[string]string{
	// PostgreSQL has no PRAGMA data_version: DataVersion reads a counter that a trigger on every
	// table bumps (postgres.go, ensureVersionTriggers).
	"table data_version":                      "postgres",
	"column data_version.id integer not null": "postgres",
	"column data_version.v integer not null":  "postgres",
	"primary data_version(id)":                "postgres",
	// SQLite's implicit rowid, made an explicit column on PostgreSQL: the module hash list's
	// cursor (the UNIQUE constraint below is its index).
	"column module_hashes.rowid integer not null": "postgres",
	"unique module_hashes(rowid)":                 "postgres",
	// The claims of a notification by notification_id (its ON DELETE CASCADE, and
	// PruneNotifications' NOT EXISTS). SQLite has no such index: a claim lives only for its
	// dedup window, so the table stays small. Adding it there takes a new migration.
	"index notification_claims_notification notification_claims(notification_id)": "postgres",
}

// TestSchema_Parity migrates an empty database on each backend and compares what the two
// migration sets built: tables, columns with their type class (integer, real, text, blob;
// PostgreSQL's BOOLEAN is integer, as SQLite stores flags as INTEGER 0/1) and nullability,
// primary keys, unique constraints and indexes with their columns.
func TestSchema_Parity(t *testing.T) {
	got := map[string][]string{}
	forEachBackend(t, func(t *testing.T, b backend) {
		st, err := store.Open(t.Context(), b.DB(t))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		err = st.Write(t.Context(), func(tx *gorm.DB) error {
			var err error
			got[b.name], err = describeSchema(tx, b.name)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got[b.name]) < 20 {
			t.Fatalf("%s schema: only %d facts read: %q", b.name, len(got[b.name]), got[b.name])
		}
	})
	sqlite, pg := got["sqlite"], got["postgres"]
	if sqlite == nil || pg == nil {
		t.Skip("needs both backends")
	}
	for _, d := range diffFacts(sqlite, pg) {
		t.Errorf("schemas differ: %s", d)
	}
}

// diffFacts lists the facts only one side has, less the meant differences.
func diffFacts(sqlite, pg []string) []string {
	var out []string
	for _, side := range []struct {
		name      string
		have, not []string
	}{{"sqlite", sqlite, pg}, {"postgres", pg, sqlite}} {
		for _, f := range side.have {
			if !slices.Contains(side.not, f) && schemaDiffs[f] != side.name {
				out = append(out, "only on "+side.name+": "+f)
			}
		}
	}
	for f, only := range schemaDiffs {
		if side := map[string][]string{"sqlite": sqlite, "postgres": pg}[only]; !slices.Contains(side, f) {
			out = append(out, "meant difference gone (drop it from schemaDiffs): "+f)
		}
	}
	return out
}

// describeSchema returns one line per table, column, primary key, unique constraint and index.
func describeSchema(tx *gorm.DB, backend string) ([]string, error) {
	q := sqliteSchemaQueries
	if backend == "postgres" {
		q = pgSchemaQueries
	}
	var facts []string
	var tables []string
	if err := tx.Raw(q.tables).Scan(&tables).Error; err != nil {
		return nil, err
	}
	for _, table := range tables {
		facts = append(facts, "table "+table)
		var cols []struct {
			Name, Type string
			NotNull    bool
		}
		if err := tx.Raw(q.columns, table).Scan(&cols).Error; err != nil {
			return nil, fmt.Errorf("columns of %s: %w", table, err)
		}
		for _, c := range cols {
			null := ""
			if c.NotNull {
				null = " not null"
			}
			facts = append(facts, fmt.Sprintf("column %s.%s %s%s", table, c.Name, typeClass(c.Type), null))
		}
		var keys []struct{ Kind, Name, Cols string }
		if err := tx.Raw(q.keys, table).Scan(&keys).Error; err != nil {
			return nil, fmt.Errorf("keys of %s: %w", table, err)
		}
		for _, k := range keys {
			if k.Kind == "index" {
				facts = append(facts, fmt.Sprintf("index %s %s(%s)", k.Name, table, k.Cols))
			} else {
				facts = append(facts, fmt.Sprintf("%s %s(%s)", k.Kind, table, k.Cols))
			}
		}
	}
	slices.Sort(facts)
	return facts, nil
}

// typeClass maps a declared column type to its class.
func typeClass(decl string) string {
	classes := map[string]string{"integer": "integer", "bigint": "integer", "boolean": "integer",
		"real": "real", "double precision": "real", "text": "text", "blob": "blob", "bytea": "blob"}
	if c, ok := classes[strings.ToLower(decl)]; ok {
		return c
	}
	return "unknown type " + decl
}

// schemaQueries read one backend's catalog: the tables; a table's columns (name, type,
// not_null, with a primary key column counted not null, as PostgreSQL makes it); and a table's
// keys (kind "primary", "unique" or "index", name, cols comma-separated in key order).
type schemaQueries struct{ tables, columns, keys string }

var sqliteSchemaQueries = schemaQueries{
	tables: `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`,
	columns: `SELECT name, lower(type) AS type, ("notnull" OR pk > 0) AS not_null
		FROM pragma_table_info(?) ORDER BY cid`,
	keys: `WITH tb(name) AS (SELECT ?)
		SELECT 'primary' AS kind, '' AS name, group_concat(name, ', ') AS cols
			FROM (SELECT c.name FROM tb, pragma_table_info(tb.name) c WHERE c.pk > 0 ORDER BY c.pk) HAVING count(*) > 0
		UNION ALL
		SELECT CASE l.origin WHEN 'c' THEN 'index' ELSE 'unique' END, CASE l.origin WHEN 'c' THEN l.name ELSE '' END,
			(SELECT group_concat(name, ', ') FROM (SELECT i.name FROM pragma_index_info(l.name) i ORDER BY i.seqno))
			FROM tb, pragma_index_list(tb.name) l WHERE l.origin <> 'pk'`,
}

var pgSchemaQueries = schemaQueries{
	tables: `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`,
	columns: `SELECT column_name AS name, data_type AS type, is_nullable = 'NO' AS not_null
		FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position`,
	keys: `SELECT CASE c.contype WHEN 'p' THEN 'primary' WHEN 'u' THEN 'unique' ELSE 'index' END AS kind,
			CASE WHEN c.contype IS NULL THEN ic.relname ELSE '' END AS name,
			(SELECT string_agg(a.attname, ', ' ORDER BY k.n) FROM unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)
				JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum) AS cols
		FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
		JOIN pg_namespace ns ON ns.oid = t.relnamespace LEFT JOIN pg_constraint c
			ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid AND c.contype IN ('p', 'u')
		WHERE ns.nspname = current_schema() AND t.relname = ?`,
}
