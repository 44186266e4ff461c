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
	select {
	case err := <-inserted:
		t.Fatalf("the insert did not wait for the rename (err %v)", err)
	case <-time.After(200 * time.Millisecond):
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
	time.Sleep(200 * time.Millisecond) // the rename reaches the moved row's lock, or finishes
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

func begin(t *testing.T, pool *pgxpool.Pool) pgx.Tx {
	t.Helper()
	tx, err := pool.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
	return tx
}
