package catalog_test

import (
	"context"
	"testing"
	"time"

	"example.com/shop/internal/testdb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// TestSearchTableFollowsRenames: the search table holds a product's
// category name through a rename that runs at the same time as products
// are written into the category and moved out of it, whichever commits
// first; and a product moved or deleted leaves no wrong row behind.
func TestSearchTableFollowsRenames(t *testing.T) {
	t.Parallel()
	pool := testdb.New(t)
	ctx := t.Context()
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := pool.Exec(ctx, sql, args...); err != nil {
			t.Fatal(err)
		}
	}
	exec(`INSERT INTO categories (id, slug, name) VALUES (1, 'lamps', 'Lamps'), (2, 'rugs', 'Rugs')`)
	exec(`INSERT INTO products (id, category_id, slug, name, price) VALUES
		(1, 1, 'desk-lamp', 'Desk Lamp', 10), (2, 1, 'floor-lamp', 'Floor Lamp', 20)`)
	categoryOf := func(product int64) string {
		t.Helper()
		var c string
		if err := pool.QueryRow(ctx, `SELECT category FROM product_search WHERE product_id = $1`, product).Scan(&c); err != nil {
			t.Fatalf("search row of product %d: %v", product, err)
		}
		return c
	}
	if c := categoryOf(1); c != "Lamps" {
		t.Fatalf("a new product's search row says %q", c)
	}

	// A rename first: a product inserted into the category meanwhile
	// waits for it, and copies the new name.
	rename := begin(t, pool)
	if _, err := rename.Exec(ctx, `UPDATE categories SET name = 'Lights' WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	inserted := make(chan error, 1)
	go func() {
		_, err := pool.Exec(ctx, `INSERT INTO products (id, category_id, slug, name, price) VALUES (3, 1, 'wall-lamp', 'Wall Lamp', 30)`)
		inserted <- err
	}()
	for deadline := time.Now().Add(10 * time.Second); !waitingForLock(t, pool, "INSERT INTO products%"); time.Sleep(5 * time.Millisecond) {
		select {
		case err := <-inserted:
			t.Fatalf("the insert did not wait for the rename (err %v)", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the insert neither waits for the rename nor ends, after 10 s")
		}
	}
	if err := rename.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-inserted; err != nil {
		t.Fatal(err)
	}

	// A move out first: a rename meanwhile leaves the moved product's
	// row alone once the move commits.
	moved := begin(t, pool)
	if _, err := moved.Exec(ctx, `UPDATE products SET category_id = 2 WHERE id = 2`); err != nil {
		t.Fatal(err)
	}
	renamed := make(chan error, 1)
	go func() {
		_, err := pool.Exec(ctx, `UPDATE categories SET name = 'Lighting' WHERE id = 1`)
		renamed <- err
	}()
	// Once the rename waits for the moved row's lock (or has finished, if
	// it does not need it), the move commits.
	for deadline := time.Now().Add(10 * time.Second); len(renamed) == 0 && !waitingForLock(t, pool, "UPDATE categories%"); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the rename neither waits for the move nor ends, after 10 s")
		}
	}
	if err := moved.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-renamed; err != nil {
		t.Fatal(err)
	}
	for product, want := range map[int64]string{1: "Lighting", 2: "Rugs", 3: "Lighting"} {
		if c := categoryOf(product); c != want {
			t.Errorf("product %d: search row says %q, want %q", product, c, want)
		}
	}
	exec(`UPDATE products SET name = 'Brass Desk Lamp', description = 'Warm light.' WHERE id = 1`)
	var name, description string
	_ = pool.QueryRow(ctx, `SELECT name, description FROM product_search WHERE product_id = 1`).Scan(&name, &description)
	if name != "Brass Desk Lamp" || description != "Warm light." {
		t.Errorf("after an edit the search row holds %q, %q", name, description)
	}
	exec(`DELETE FROM products WHERE id = 3`)
	var n int
	_ = pool.QueryRow(ctx, `SELECT count(*) FROM product_search WHERE product_id = 3`).Scan(&n)
	if n != 0 {
		t.Error("a deleted product kept its search row")
	}
}

// waitingForLock reports whether a statement like query (a LIKE pattern)
// is waiting for a lock in the test's database.
func waitingForLock(t *testing.T, pool *pgxpool.Pool, query string) bool {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE $1`, query).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

func begin(t *testing.T, pool *pgxpool.Pool) pgx.Tx {
	t.Helper()
	tx, err := pool.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
	return tx
}
