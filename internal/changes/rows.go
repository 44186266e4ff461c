package changes

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A Row is one row of a table as the database recorded it (column name to
// its JSON value), before or after a change.
type Row map[string]json.RawMessage

// Int returns the integer in column col, and false when the row has none
// (NULL, absent, or not an integer).
func (r Row) Int(col string) (int64, bool) {
	n, err := strconv.ParseInt(string(r[col]), 10, 64)
	return n, err == nil
}

// Bool returns the boolean in column col (false when absent).
func (r Row) Bool(col string) bool { return string(r[col]) == "true" }

// Time returns the timestamp in column col, and false when the row has none.
func (r Row) Time(col string) (time.Time, bool) {
	var t time.Time
	if err := json.Unmarshal(r[col], &t); err != nil {
		return time.Time{}, false
	}
	return t, true
}

// A Change is what one statement did to one row: Old is nil for a row it
// inserted, New for a row it deleted.
type Change struct {
	Table    string
	Old, New Row
}

// Differs reports whether the change is an insert or a delete, or changed
// one of cols.
func (c Change) Differs(cols ...string) bool {
	if c.Old == nil || c.New == nil {
		return true
	}
	for _, col := range cols {
		if string(c.Old[col]) != string(c.New[col]) {
			return true
		}
	}
	return false
}

// Ints returns the distinct values of column col on both sides of the
// change: a product moved between categories has two category_ids.
func (c Change) Ints(col string) []int64 {
	var out []int64
	for _, r := range []Row{c.Old, c.New} {
		if n, ok := r.Int(col); ok && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// Any reports whether the row holds true in column col on either side.
func (c Change) Any(col string) bool { return c.Old.Bool(col) || c.New.Bool(col) }

// A Rule says what a change of a row of Table makes out of date: the tags
// of every cached value built from that row, from the row's old and new
// values. A domain declares the rules of the tables it caches reads of,
// next to the tags its reads record (see Read); every write, the shop's
// or anyone's, goes through them.
type Rule struct {
	Table string
	// Name says what the rule invalidates, for logs:
	// "catalog: a product's page, its categories' lists".
	Name string
	Tags func(c Change) []string
}

// keys are the primary keys that pair a row's old and new values; "id"
// for the tables not named.
var keys = map[string][]string{
	"cart_items":       {"user_id", "product_id"},
	"guest_cart_items": {"cart_id", "product_id"},
	"wishlist_items":   {"user_id", "product_id"},
	"product_search":   {"product_id"},
}

// pair turns the rows a statement changed into changes, one per row: an
// updated row's old and new values are paired by its primary key (a row
// whose key changed is a delete and an insert).
func pair(table string, olds, news []Row) []Change {
	key := keys[table]
	if key == nil {
		key = []string{"id"}
	}
	keyOf := func(r Row) string {
		var b strings.Builder
		for _, k := range key {
			b.Write(r[k])
			b.WriteByte('/')
		}
		return b.String()
	}
	out := make([]Change, 0, max(len(olds), len(news)))
	at := make(map[string]int, len(olds))
	for _, o := range olds {
		at[keyOf(o)] = len(out)
		out = append(out, Change{Table: table, Old: o})
	}
	for _, n := range news {
		if i, ok := at[keyOf(n)]; ok && out[i].New == nil {
			out[i].New = n
			continue
		}
		out = append(out, Change{Table: table, New: n})
	}
	return out
}

// Rules are every domain's rules, by table.
type Rules map[string][]Rule

// NewRules gathers rules.
func NewRules(rules ...[]Rule) Rules {
	out := Rules{}
	for _, rs := range rules {
		for _, r := range rs {
			out[r.Table] = append(out[r.Table], r)
		}
	}
	return out
}

// Tags returns the tags a set of changes makes out of date, each once:
// every rule's for every changed row, and the whole-table tag of each
// table changed (TableTag), on which a read that names no finer
// dependency depends.
func (rs Rules) Tags(changes []Change) []string {
	seen := map[string]bool{}
	var out []string
	add := func(tags ...string) {
		for _, t := range tags {
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	for _, c := range changes {
		add(TableTag(c.Table))
		for _, r := range rs[c.Table] {
			add(r.Tags(c)...)
		}
	}
	return out
}

// TableTag is the tag of every row of a table: every change of the table
// moves it.
func TableTag(table string) string { return "table:" + table }

// record is a change as the triggers record it (db/migrations/00008).
type record struct {
	Seq    int64  `json:"seq"`
	Table  string `json:"table"`
	Origin string `json:"origin"`
	// All: the statement changed too many rows to record them.
	All bool `json:"all"`
	// Logged: the rows did not fit in the notification; they are in the
	// change log under Seq.
	Logged bool  `json:"logged"`
	Old    []Row `json:"old"`
	New    []Row `json:"new"`
	// Barrier is not a change: a writer's mark, see Listener.Sync.
	Barrier string `json:"barrier"`
}

func parseRecord(payload string) (record, error) {
	var r record
	if err := json.Unmarshal([]byte(payload), &r); err != nil {
		return record{}, fmt.Errorf("unreadable change record: %w", err)
	}
	return r, nil
}
