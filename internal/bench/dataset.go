package bench

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"example.com/shop/internal/accounts"
	"example.com/shop/internal/catalog"
	"example.com/shop/internal/db"
	"example.com/shop/internal/money"
	"example.com/shop/internal/seed"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The seeded customers' password in the benchmark's databases, which live
// on the local server and hold generated data only.
const customerPassword = "bench-password"

// dataset makes the run's database: a copy of a template database seeded
// once per scale and kept for later runs, since copying a database is far
// quicker than seeding it. It returns the copy's URL and a function that
// drops it.
func dataset(ctx context.Context, serverURL string, scale float64, seedValue int64, progress io.Writer) (string, func(), error) {
	cfg, err := pgx.ParseConfig(serverURL)
	if err != nil {
		return "", nil, fmt.Errorf("parse database url: %w", err)
	}
	cfg.Database = "postgres"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return "", nil, fmt.Errorf("connect to PostgreSQL at %s: %w", db.Redact(serverURL), err)
	}
	defer conn.Close(context.WithoutCancel(ctx))

	template := "shop_bench_" + strings.NewReplacer(".", "_", "-", "_").Replace(fmt.Sprintf("s%g_%d", scale, seedValue))
	latest, err := latestMigration(ctx, serverURL)
	if err != nil {
		return "", nil, err
	}
	marker := fmt.Sprintf("shop bench dataset: scale %g, seed %d, schema %d", scale, seedValue, latest)
	// Runs at once on one server (two checkouts' test suites) take turns
	// at the dataset: one seeds it while the others wait, and then find it
	// marked complete; none drops it while another copies it. The lock is
	// the connection's: a run that dies seeding releases it, and leaves an
	// unmarked database that the next run seeds again.
	unlock, err := lockDataset(ctx, conn, template, progress)
	if err != nil {
		return "", nil, err
	}
	defer unlock()
	var comment *string
	err = conn.QueryRow(ctx, `SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1`, template).Scan(&comment)
	switch {
	case err == pgx.ErrNoRows || (err == nil && (comment == nil || *comment != marker)):
		if err := makeTemplate(ctx, conn, serverURL, template, marker, scale, seedValue, progress); err != nil {
			return "", nil, err
		}
	case err != nil:
		return "", nil, fmt.Errorf("look for the dataset: %w", err)
	default:
		fmt.Fprintf(progress, "dataset: reusing %s (%s)\n", template, marker)
	}

	run := fmt.Sprintf("shop_bench_run_%d", time.Now().UnixNano())
	if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", run, template)); err != nil {
		return "", nil, fmt.Errorf("copy the dataset: %w", err)
	}
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			return
		}
		defer c.Close(ctx)
		_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+run+" WITH (FORCE)")
	}
	return withDatabase(serverURL, run), drop, nil
}

// lockDataset takes the advisory lock of the dataset name on conn, waiting
// while another run holds it. The returned function releases it.
func lockDataset(ctx context.Context, conn *pgx.Conn, name string, progress io.Writer) (func(), error) {
	key := "shop bench dataset " + name
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtextextended($1, 0))`, key).Scan(&got); err != nil {
		return nil, fmt.Errorf("lock the dataset: %w", err)
	}
	if !got {
		fmt.Fprintf(progress, "dataset: waiting for another run making or copying %s\n", name)
		if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(hashtextextended($1, 0))`, key); err != nil {
			return nil, fmt.Errorf("wait for the dataset: %w", err)
		}
	}
	return func() {
		_, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, key)
	}, nil
}

// makeTemplate creates, migrates and seeds the template database. The
// caller holds the dataset's lock.
func makeTemplate(ctx context.Context, conn *pgx.Conn, serverURL, name, marker string, scale float64, seedValue int64, progress io.Writer) error {
	fmt.Fprintf(progress, "dataset: seeding %s (scale %g); later runs reuse it\n", name, scale)
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop the old dataset: %w", err)
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident); err != nil {
		return fmt.Errorf("create the dataset: %w", err)
	}
	pool, err := db.Open(ctx, withDatabase(serverURL, name))
	if err != nil {
		return err
	}
	err = func() error {
		defer pool.Close()
		if err := db.MigrateUp(ctx, pool, io.Discard); err != nil {
			return err
		}
		// Cost 4: the benchmark logs its customers in once per run, and
		// this is not a password anyone types.
		hash, err := accounts.HashPassword(customerPassword, 4)
		if err != nil {
			return err
		}
		_, err = seed.Run(ctx, pool, seed.Options{Scale: scale, Seed: seedValue, AdminHash: hash, CustomerHash: hash, Progress: progress})
		if err != nil {
			return err
		}
		_, err = pool.Exec(ctx, "VACUUM ANALYZE")
		return err
	}()
	if err != nil {
		_, _ = conn.Exec(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)")
		return fmt.Errorf("seed the dataset: %w", err)
	}
	// Marked only once complete: an interrupted seeding is redone.
	_, err = conn.Exec(ctx, fmt.Sprintf("COMMENT ON DATABASE %s IS '%s'", ident, marker))
	return err
}

// latestMigration returns the newest schema version the shop knows.
func latestMigration(ctx context.Context, serverURL string) (int64, error) {
	pool, err := pgxpool.New(ctx, serverURL)
	if err != nil {
		return 0, err
	}
	defer pool.Close()
	m, err := db.NewMigrator(pool)
	if err != nil {
		return 0, err
	}
	defer m.Close()
	return m.Latest(), nil
}

// withDatabase returns url with its database name replaced.
func withDatabase(url, name string) string {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return url
	}
	u := fmt.Sprintf("postgres://%s@%s:%d/%s", cfg.User, cfg.Host, cfg.Port, name)
	if cfg.Password != "" {
		u = fmt.Sprintf("postgres://%s:%s@%s:%d/%s", cfg.User, cfg.Password, cfg.Host, cfg.Port, name)
	}
	if cfg.TLSConfig == nil {
		u += "?sslmode=disable"
	}
	return u
}

// loadCatalog reads what the load generator needs to know of the shop.
func loadCatalog(ctx context.Context, pool *pgxpool.Pool) (*Catalog, map[int64]money.Money, error) {
	cat := &Catalog{}
	prices := map[int64]money.Money{}
	// Best sellers first: the Zipf law's rank order.
	rows, err := pool.Query(ctx, `
		SELECT p.id, p.price FROM products p
		LEFT JOIN (SELECT product_id, sum(quantity) AS sold FROM order_items GROUP BY product_id) s ON s.product_id = p.id
		WHERE p.active ORDER BY coalesce(s.sold, 0) DESC, p.id`)
	if err != nil {
		return nil, nil, fmt.Errorf("read the products: %w", err)
	}
	for rows.Next() {
		var id int64
		var price money.Money
		if err := rows.Scan(&id, &price); err != nil {
			return nil, nil, err
		}
		cat.ProductIDs = append(cat.ProductIDs, id)
		prices[id] = price
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	// Categories with the most products first.
	rows, err = pool.Query(ctx, `
		SELECT c.slug, c.name, count(*) FROM categories c JOIN products p ON p.category_id = c.id AND p.active
		WHERE c.active GROUP BY c.id ORDER BY count(*) DESC, c.id`)
	if err != nil {
		return nil, nil, fmt.Errorf("read the categories: %w", err)
	}
	var names []string
	for rows.Next() {
		var slug, name string
		var n int
		if err := rows.Scan(&slug, &name, &n); err != nil {
			return nil, nil, err
		}
		names = append(names, name)
		cat.Categories = append(cat.Categories, slug)
		cat.Pages = append(cat.Pages, (n+catalog.PageSize-1)/catalog.PageSize)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	cat.Searches = SearchVocabulary(names)
	rows, err = pool.Query(ctx, `SELECT email FROM users WHERE NOT is_admin ORDER BY id LIMIT 20`)
	if err != nil {
		return nil, nil, fmt.Errorf("read the customers: %w", err)
	}
	if cat.customers, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		return nil, nil, err
	}
	if len(cat.ProductIDs) == 0 || len(cat.Categories) == 0 || len(cat.customers) == 0 {
		return nil, nil, fmt.Errorf("the dataset has no products, categories or customers")
	}
	return cat, prices, nil
}
