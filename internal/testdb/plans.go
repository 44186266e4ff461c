package testdb

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Query returns the SQL of the query name of db/queries/file, its @names
// numbered in the order they first come ($1 the first named).
func Query(t testing.TB, file, name string) string {
	t.Helper()
	_, here, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(here), "../../db/queries", file))
	if err != nil {
		t.Fatal(err)
	}
	_, text, ok := strings.Cut(string(b), "-- name: "+name+" ")
	if !ok {
		t.Fatalf("no query %s in db/queries/%s", name, file)
	}
	text, _, _ = strings.Cut(text, "-- name: ")
	var names []string
	return regexp.MustCompile(`@[a-z_]+`).ReplaceAllStringFunc(text[strings.Index(text, "\n"):], func(p string) string {
		i := slices.Index(names, p)
		if i < 0 {
			names, i = append(names, p), len(names)
		}
		return fmt.Sprintf("$%d", i+1)
	})
}

// Plan returns the nodes of the plan PostgreSQL makes for sql with args,
// flattened. Generic asks for the plan a prepared statement settles on
// after its first executions, which knows the arguments' types but not
// their values (what pgx's statement cache runs most of the time).
func Plan(t testing.TB, pool *pgxpool.Pool, generic bool, sql string, args ...any) []map[string]any {
	t.Helper()
	ctx := t.Context()
	var plan []map[string]any
	if !generic {
		if err := pool.QueryRow(ctx, "EXPLAIN (FORMAT JSON) "+sql, args...).Scan(&plan); err != nil {
			t.Fatalf("explain %s: %v", sql, err)
		}
		return planNodes(plan[0]["Plan"].(map[string]any))
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SET plan_cache_mode = force_generic_plan"); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(ctx, "RESET plan_cache_mode")
	if _, err := conn.Exec(ctx, "PREPARE planned AS "+sql); err != nil {
		t.Fatalf("prepare %s: %v", sql, err)
	}
	defer conn.Exec(ctx, "DEALLOCATE planned")
	// EXPLAIN takes no parameters: the arguments go in as literals.
	literals := make([]string, len(args))
	for i, a := range args {
		literals[i] = "'" + strings.ReplaceAll(fmt.Sprint(a), "'", "''") + "'"
	}
	if err := conn.QueryRow(ctx, "EXPLAIN (FORMAT JSON, VERBOSE) EXECUTE planned("+strings.Join(literals, ", ")+")").Scan(&plan); err != nil {
		t.Fatalf("explain %s: %v", sql, err)
	}
	return planNodes(plan[0]["Plan"].(map[string]any))
}

func planNodes(n map[string]any) []map[string]any {
	out := []map[string]any{n}
	children, _ := n["Plans"].([]any)
	for _, c := range children {
		out = append(out, planNodes(c.(map[string]any))...)
	}
	return out
}

// Pairs runs sql, which selects two integers a row, and returns the
// second by the first.
func Pairs(t testing.TB, pool *pgxpool.Pool, sql string) map[int64]int64 {
	t.Helper()
	rows, err := pool.Query(t.Context(), sql)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int64]int64{}
	for rows.Next() {
		var k, v int64
		if err := rows.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		out[k] = v
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
