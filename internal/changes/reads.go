package changes

import (
	"fmt"
	"slices"
	"sync"
)

// Summaries are the tables the database keeps from others, by triggers in
// the writing transaction (db/migrations/00009_product_sales.sql and
// 00010_category_counts.sql), each with its sources: what changes one is
// a change of its sources, which the change log records, so the tags a
// read names for a summary are those its sources' rules move.
var Summaries = map[string][]string{
	"product_sales_daily":     {"orders", "order_items"},
	"product_sales_recent":    {"orders", "order_items"},
	"category_product_counts": {"products"},
}

// A Read is a cached query and what its value depends on. Tables are the
// tables its SQL reads, every FROM and JOIN (TestCachedReadsDeclareEveryTable
// holds the list to db/queries: a join added to the query fails it until
// the table is declared here). At each call, Tags names the tags that cover
// the rows it read of each table; a table the call names no finer tags for
// depends on every row of it (TableTag). So a dependency cannot be
// forgotten: at worst it is coarse.
type Read struct {
	// Queries are the names of the queries of db/queries it runs.
	Queries []string
	Tables  []string
	// AsOf: the read records no dependency; its staleness is declared
	// instead (cache.Declared), and a test holds it to its bound.
	AsOf bool
}

// A Dep is what a read depends on in one table: the tags that the rules
// of that table move when a row the read could have read changes.
type Dep struct {
	Table string
	Tags  []string
}

// On names the tags of a read's rows of table.
func On(table string, tags ...string) Dep { return Dep{Table: table, Tags: tags} }

var (
	declaredMu sync.Mutex
	declared   []*Read
)

// Declare declares a cached read. Call it once, at package level, next
// to the cached read.
func Declare(r Read) *Read {
	declaredMu.Lock()
	defer declaredMu.Unlock()
	declared = append(declared, &r)
	return &r
}

// Declared returns every cached query declared so far.
func Declared() []Read {
	declaredMu.Lock()
	defer declaredMu.Unlock()
	out := make([]Read, len(declared))
	for i, r := range declared {
		out[i] = *r
	}
	return out
}

// Tags returns the tags of one call of the read: those of deps, and the
// whole-table tag of every table deps says nothing of (for a summary, its
// sources'). A dep of a table the read did not declare is a mistake of
// the code, and panics (the first test that runs the read finds it).
func (r *Read) Tags(deps ...Dep) []string {
	var out []string
	for _, t := range r.Tables {
		i := slices.IndexFunc(deps, func(d Dep) bool { return d.Table == t })
		if i < 0 {
			// No change of a summary is recorded: its sources' are.
			sources, summary := Summaries[t]
			if !summary {
				sources = []string{t}
			}
			for _, s := range sources {
				out = append(out, TableTag(s))
			}
			continue
		}
		out = append(out, deps[i].Tags...)
	}
	for _, d := range deps {
		if !slices.Contains(r.Tables, d.Table) {
			panic(fmt.Sprintf("changes: %s names a dependency on %s, which it does not declare it reads", r.Queries, d.Table))
		}
	}
	return out
}
