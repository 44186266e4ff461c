package changes_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"example.com/shop/internal/changes"
	"example.com/shop/internal/testdb"
	"github.com/jackc/pgx/v5"
)

// queries returns the SQL of every query of db/queries, by name.
func queries(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob("../../db/queries/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no queries found: %v", err)
	}
	out := map[string]string{}
	name := regexp.MustCompile(`(?m)^-- name: (\w+)`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		at := name.FindAllStringSubmatchIndex(s, -1)
		for i, m := range at {
			end := len(s)
			if i+1 < len(at) {
				end = at[i+1][0]
			}
			out[s[m[2]:m[3]]] = s[m[1]:end]
		}
	}
	return out
}

// schemaTables returns the tables the migrations create.
func schemaTables(t *testing.T) []string {
	t.Helper()
	files, _ := filepath.Glob("../../db/migrations/*.sql")
	create := regexp.MustCompile(`CREATE TABLE (\w+)`)
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range create.FindAllStringSubmatch(string(b), -1) {
			out = append(out, m[1])
		}
	}
	return out
}

var (
	comment = regexp.MustCompile(`--[^\n]*`)
	// A FROM or JOIN, and the comma-separated list a FROM may go on with.
	fromJoin = regexp.MustCompile(`(?i)\b(?:FROM|JOIN)\s+(\w+)((?:\s+\w+)?(?:\s*,\s*\w+(?:\s+\w+)?)*)`)
	listed   = regexp.MustCompile(`,\s*(\w+)`)
)

// tablesRead returns the tables of the schema a query reads, every FROM
// and JOIN (a CTE's name is no table of the schema and is left out).
func tablesRead(sql string, schema []string) []string {
	sql = comment.ReplaceAllString(sql, "")
	var out []string
	add := func(name string) {
		name = strings.ToLower(name)
		if slices.Contains(schema, name) && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	for _, m := range fromJoin.FindAllStringSubmatch(sql, -1) {
		add(m[1])
		for _, l := range listed.FindAllStringSubmatch(m[2], -1) {
			add(l[1])
		}
	}
	return out
}

// TestCachedReadsDeclareEveryTable: every cached read declares each table
// its query reads, so that each has a dependency (a finer one its call
// names, or the whole table's). A join added to a cached query fails this
// test until the read declares the table.
func TestCachedReadsDeclareEveryTable(t *testing.T) {
	sql, schema := queries(t), schemaTables(t)
	reads := changes.Declared()
	if len(reads) < 20 {
		t.Fatalf("only %d cached reads are declared: are the domains' declarations linked in?", len(reads))
	}
	for _, r := range reads {
		for _, q := range r.Queries {
			text, ok := sql[q]
			if !ok {
				t.Errorf("a cached read runs %s, which db/queries does not have", q)
				continue
			}
			for _, table := range tablesRead(text, schema) {
				if !slices.Contains(r.Tables, table) {
					t.Errorf("%s reads %s, but its cached read declares only %v: declare the table, and the tags that cover its rows", q, table, r.Tables)
				}
			}
		}
	}
}

// TestTablesReadFindsJoins: the parser of the test above finds what a
// query reads, including a join added later and a FROM list.
func TestTablesReadFindsJoins(t *testing.T) {
	schema := []string{"products", "categories", "product_search", "users", "reviews"}
	for _, c := range []struct {
		sql  string
		want []string
	}{
		{"SELECT * FROM products WHERE active", []string{"products"}},
		{"SELECT p.* FROM products p JOIN categories c ON c.id = p.category_id", []string{"products", "categories"}},
		{"WITH q AS (SELECT 1) SELECT p.id FROM q, product_search s JOIN products p ON p.id = s.product_id", []string{"product_search", "products"}},
		{"SELECT r.id -- FROM users\nFROM reviews r LEFT JOIN users u ON u.id = r.user_id", []string{"reviews", "users"}},
	} {
		if got := tablesRead(c.sql, schema); !slices.Equal(got, c.want) {
			t.Errorf("tablesRead(%q) = %v, want %v", c.sql, got, c.want)
		}
	}
}

// TestRulesCoverTheTablesRead: every table a cached read declares has its
// changes recorded by the triggers (db/migrations/00008 and later), or is a summary
// of tables that have, or no rule could ever move its tags.
func TestRulesCoverTheTablesRead(t *testing.T) {
	pool := testdb.New(t)
	rows, err := pool.Query(t.Context(), `SELECT DISTINCT tgrelid::regclass::text FROM pg_trigger
		WHERE tgname LIKE '%\_changes\_insert' AND NOT tgisinternal`)
	if err != nil {
		t.Fatal(err)
	}
	recorded, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range changes.Declared() {
		for _, table := range r.Tables {
			sources, summary := changes.Summaries[table]
			if !summary {
				sources = []string{table}
			}
			for _, s := range sources {
				if !slices.Contains(recorded, s) {
					t.Errorf("%v read %s, whose changes no trigger records", r.Queries, s)
				}
			}
		}
	}
}

// TestSummaryDependsOnItsSources: a read of a summary that names no tags
// for it depends on every row of its sources, whose changes are recorded,
// not on the summary's own table tag, which nothing moves.
func TestSummaryDependsOnItsSources(t *testing.T) {
	t.Parallel()
	r := changes.Read{Queries: []string{"Counts"}, Tables: []string{"category_product_counts", "categories"}}
	got := r.Tags()
	want := []string{changes.TableTag("products"), changes.TableTag("categories")}
	if !slices.Equal(got, want) {
		t.Errorf("Tags() = %v, want %v", got, want)
	}
}
