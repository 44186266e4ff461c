// Package seed fills an empty shop database with a deterministic catalog,
// customers, orders and reviews of a chosen size, for trying the shop out,
// for tests and for benchmarks.
//
// The same Seed and Scale give the same rows (names, prices, who ordered
// what); timestamps are laid out relative to Options.Now, so that orders
// always span the last 365 days. Product popularity in orders and reviews
// follows a Zipf law, as it does in real shops: a few products sell a lot.
//
// It writes with COPY and knows the schema, not the domain packages' rules;
// it runs before any of them serve a request.
package seed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand"
	"os"
	"strings"
	"time"

	"example.com/shop/internal/catalog"
	"example.com/shop/internal/money"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/schollz/progressbar/v3"
)

// Options says what to seed.
type Options struct {
	// Scale sizes the dataset: 1 is about a thousand products, 100 about a
	// hundred thousand (see Size). Fractions make tiny datasets for tests.
	Scale float64
	// Seed picks the dataset; the same Seed and Scale give the same rows.
	Seed int64
	// AdminHash and CustomerHash are the password hashes of
	// admin@shop.test and of every customer (demo@shop.test and
	// userN@shop.test). Hashing is the accounts package's business, and
	// one hash for all customers keeps seeding fast.
	AdminHash, CustomerHash string
	// Now anchors the timestamps; zero means time.Now().
	Now time.Time
	// Progress receives a progress bar when it is a terminal, a plain line
	// at each quarter otherwise (a log, a test), and nothing when nil.
	Progress io.Writer
}

// Counts is the number of rows of each kind a dataset has.
type Counts struct {
	Categories, Products, Users, Orders, Reviews int
}

// Size returns the row counts of a dataset of the given scale. Scale 1 and
// scale 100 are fixed points (1k and 100k products, 50 and 500 categories,
// 500 and 50k users, 5k and 200k orders, 10k and 500k reviews); other
// scales are interpolated geometrically between them, and extrapolated the
// same way beyond.
func Size(scale float64) Counts {
	at := func(one, hundred float64, min int) int {
		n := int(math.Round(one * math.Pow(hundred/one, math.Log10(scale)/2)))
		return max(n, min)
	}
	return Counts{
		Categories: at(50, 500, 3),
		Products:   at(1_000, 100_000, 20),
		Users:      at(500, 50_000, 5),
		Orders:     at(5_000, 200_000, 10),
		Reviews:    at(10_000, 500_000, 10),
	}
}

// ErrNotEmpty reports a database that already holds shop data.
var ErrNotEmpty = errors.New("the database already holds shop data")

// IsEmpty reports whether the shop's tables hold no users and no products.
func IsEmpty(ctx context.Context, pool *pgxpool.Pool) (bool, error) {
	var exists bool
	err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM products)`).Scan(&exists)
	if err != nil {
		return false, fmt.Errorf("check for data: %w", err)
	}
	return !exists, nil
}

// Reset empties every shop table and restarts their ids.
func Reset(ctx context.Context, pool *pgxpool.Pool) error {
	_, err := pool.Exec(ctx, `TRUNCATE cart_items, wishlist_items, reviews, order_items, orders,
		users, products, categories RESTART IDENTITY CASCADE`)
	if err != nil {
		return fmt.Errorf("reset tables: %w", err)
	}
	return nil
}

// Run seeds an empty database. It returns ErrNotEmpty rather than mix a new
// dataset into existing data; call Reset first to replace it.
func Run(ctx context.Context, pool *pgxpool.Pool, opts Options) (Counts, error) {
	if opts.Scale <= 0 {
		return Counts{}, fmt.Errorf("scale must be positive, got %v", opts.Scale)
	}
	if opts.AdminHash == "" || opts.CustomerHash == "" {
		return Counts{}, errors.New("seed needs the admin and customer password hashes")
	}
	empty, err := IsEmpty(ctx, pool)
	if err != nil {
		return Counts{}, err
	}
	if !empty {
		return Counts{}, ErrNotEmpty
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	d := generate(opts)

	total := int64(len(d.categories) + len(d.products) + len(d.users) + len(d.orders) + len(d.items) + len(d.reviews))
	bar := newProgress(opts.Progress, total)

	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		for _, t := range d.tables() {
			rows := t.rows
			n, err := tx.CopyFrom(ctx, pgx.Identifier{t.name}, t.columns, pgx.CopyFromFunc(func() ([]any, error) {
				if len(rows) == 0 {
					return nil, nil
				}
				r := rows[0]
				rows = rows[1:]
				bar.add()
				return r, nil
			}))
			if err != nil {
				return fmt.Errorf("copy %s: %w", t.name, err)
			}
			if int(n) != len(t.rows) {
				return fmt.Errorf("copy %s: wrote %d of %d rows", t.name, n, len(t.rows))
			}
		}
		// The rows above carry explicit ids; move each identity past them
		// so the shop's own inserts do not collide.
		for _, table := range []string{"categories", "products", "users", "orders", "order_items", "reviews"} {
			if _, err := tx.Exec(ctx, fmt.Sprintf(
				`SELECT setval(pg_get_serial_sequence('%[1]s', 'id'), coalesce((SELECT max(id) FROM %[1]s), 0) + 1, false)`, table)); err != nil {
				return fmt.Errorf("advance %s ids: %w", table, err)
			}
		}
		return nil
	})
	if err != nil {
		return Counts{}, err
	}
	bar.finish()
	if _, err := pool.Exec(ctx, `ANALYZE`); err != nil {
		return Counts{}, fmt.Errorf("analyze: %w", err)
	}
	return Counts{
		Categories: len(d.categories), Products: len(d.products), Users: len(d.users),
		Orders: len(d.orders), Reviews: len(d.reviews),
	}, nil
}

// progress reports the rows written. A bar redraws itself in place, which
// only a terminal shows as one line: anywhere else each redraw is a line
// of its own, so there it writes a plain line at each quarter.
type progress struct {
	bar         *progressbar.ProgressBar // on a terminal
	w           io.Writer                // elsewhere; nil: nothing
	done, total int64
	quarter     int64 // the quarters reported
}

func newProgress(w io.Writer, total int64) *progress {
	if w == nil || !isTerminal(w) {
		return &progress{w: w, total: total}
	}
	return &progress{total: total, bar: progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("seeding"),
		progressbar.OptionShowCount(),
		progressbar.OptionSetItsString("rows"),
		progressbar.OptionShowIts(),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
	)}
}

func (p *progress) add() {
	p.done++
	if p.bar != nil {
		_ = p.bar.Add(1)
		return
	}
	if p.w == nil || p.total == 0 {
		return
	}
	if q := 4 * p.done / p.total; q > p.quarter {
		p.quarter = q
		fmt.Fprintf(p.w, "seeding: %d%% (%d of %d rows)\n", 25*q, p.done, p.total)
	}
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// dataset is a generated dataset, as rows ready for COPY.
type dataset struct {
	categories, products, users, orders, items, reviews [][]any
}

type table struct {
	name    string
	columns []string
	rows    [][]any
}

func (d *dataset) tables() []table {
	return []table{
		{"categories", []string{"id", "slug", "name", "active", "created_at", "updated_at"}, d.categories},
		{"products", []string{"id", "category_id", "slug", "name", "description", "price", "stock", "active",
			"featured", "sold_count", "review_count", "rating_total", "created_at", "updated_at"}, d.products},
		{"users", []string{"id", "email", "password_hash", "name", "is_admin", "date_joined", "updated_at"}, d.users},
		{"orders", []string{"id", "user_id", "status", "total", "created_at", "updated_at"}, d.orders},
		{"order_items", []string{"id", "order_id", "product_id", "product_name", "quantity", "unit_price"}, d.items},
		{"reviews", []string{"id", "product_id", "user_id", "rating", "comment", "created_at"}, d.reviews},
	}
}

// product is what generate remembers of a product while it makes orders.
type product struct {
	name                     string
	price                    money.Money
	active                   bool
	sold, reviews, ratingSum int
}

// generate builds the whole dataset in memory, so that the counters on
// products (sold, reviews, rating) are computed once and copied in, rather
// than updated afterwards.
func generate(o Options) *dataset {
	r := rand.New(rand.NewSource(o.Seed))
	n := Size(o.Scale)
	now := o.Now.UTC().Truncate(time.Second)
	day := 24 * time.Hour
	var d dataset

	// Categories: every kind once, then every kind with a qualifier, and so on.
	catKind := make([]int, n.Categories)
	for i := range n.Categories {
		k, q := i%len(kinds), (i/len(kinds))%len(qualifiers)
		catKind[i] = k
		name := strings.TrimSpace(qualifiers[q] + " " + kinds[k].plural)
		if i >= len(kinds)*len(qualifiers) {
			name = fmt.Sprintf("%s %d", name, i/(len(kinds)*len(qualifiers))+1)
		}
		created := now.Add(-800 * day)
		d.categories = append(d.categories, []any{int64(i + 1), catalog.Slugify(name), name, true, created, created})
	}

	// Products, in random categories; a product's words match its category.
	products := make([]product, n.Products)
	for i := range products {
		cat := r.Intn(n.Categories)
		k := kinds[catKind[cat]]
		color, material := pick(r, colors), pick(r, materials)
		name := fmt.Sprintf("%s %s %s %s %s", pick(r, brands), pick(r, adjectives), color, material, k.singular)
		use := r.Perm(len(k.uses))
		desc := fmt.Sprintf("A %s %s made of %s, in %s. Made for %s and %s. %s",
			strings.ToLower(pick(r, adjectives)), strings.ToLower(k.singular), strings.ToLower(material),
			strings.ToLower(color), k.uses[use[0]], k.uses[use[1]], pick(r, careNotes))
		// Log-normal prices between about 3 and 500, ending in .99 or .50 or .00.
		cents := int64(math.Exp(3.2+0.9*r.NormFloat64()) * 100)
		cents = min(max(cents, 300), 50_000)/100*100 + []int64{99, 50, 0}[r.Intn(3)]
		products[i] = product{name: name, price: money.Money(cents), active: r.Float64() >= 0.03}
		created := now.Add(-time.Duration(r.Int63n(int64(700 * day))))
		d.products = append(d.products, []any{
			int64(i + 1), int64(cat + 1), fmt.Sprintf("%s-%d", catalog.Slugify(name), i+1), name, desc,
			money.Money(cents), int32(r.Intn(500)), products[i].active, r.Float64() < 0.01,
			nil, nil, nil, created, created, // counters filled in below
		})
	}
	// Make sure the home page has featured products to show.
	for i := 0; i < 8 && i < len(d.products); i++ {
		d.products[i*len(d.products)/8][8] = true
	}

	// Zipf over a shuffled ranking, so the best sellers are spread over
	// categories rather than all low ids.
	rank := r.Perm(n.Products)
	zipf := rand.NewZipf(r, 1.1, 1, uint64(n.Products-1))
	popular := func() int { return rank[zipf.Uint64()] }

	// Users: the admin, the demo customer, then user1..userN.
	joined := make([]time.Time, n.Users)
	for i := range n.Users {
		email, hash, admin := fmt.Sprintf("user%d@shop.test", i-1), o.CustomerHash, false
		name := pick(r, firstNames) + " " + pick(r, lastNames)
		switch i {
		case 0:
			email, hash, admin, name = "admin@shop.test", o.AdminHash, true, "Shop Admin"
		case 1:
			email, name = "demo@shop.test", "Demo Customer"
		}
		joined[i] = now.Add(-day - time.Duration(r.Int63n(int64(729*day))))
		d.users = append(d.users, []any{int64(i + 1), email, hash, name, admin, joined[i], joined[i]})
	}

	// Orders over the last 365 days, each after its customer joined.
	itemID := int64(0)
	for i := range n.Orders {
		u := 1 + r.Intn(n.Users-1) // never the admin
		from := joined[u]
		if from.Before(now.Add(-365 * day)) {
			from = now.Add(-365 * day)
		}
		at := from.Add(time.Duration(r.Int63n(int64(now.Sub(from)) + 1)))
		status := "completed"
		switch p := r.Float64(); {
		case now.Sub(at) < 14*day && p < 0.5:
			status = "pending"
		case p > 0.92:
			status = "cancelled"
		}
		var total money.Money
		seen := map[int]bool{}
		for range 1 + r.Intn(4) {
			p := popular()
			if seen[p] {
				continue
			}
			seen[p] = true
			q := 1 + r.Intn(3)
			itemID++
			d.items = append(d.items, []any{itemID, int64(i + 1), int64(p + 1), products[p].name, int32(q), products[p].price})
			total += products[p].price.Times(int32(q))
			if status != "cancelled" {
				products[p].sold += q
			}
		}
		d.orders = append(d.orders, []any{int64(i + 1), int64(u + 1), status, total, at, at})
	}

	// Reviews: one per customer and product at most.
	type pair struct{ u, p int }
	reviewed := make(map[pair]bool, n.Reviews)
	for len(d.reviews) < n.Reviews && len(reviewed) < (n.Users-1)*n.Products {
		k := pair{1 + r.Intn(n.Users-1), popular()}
		if reviewed[k] {
			continue
		}
		reviewed[k] = true
		rating := []int16{1, 2, 3, 3, 4, 4, 4, 5, 5, 5}[r.Intn(10)]
		comment := pick(r, reviewOpeners) + " " + pick(r, reviewClosers)
		at := now.Add(-time.Duration(r.Int63n(int64(365 * day))))
		d.reviews = append(d.reviews, []any{int64(len(d.reviews) + 1), int64(k.p + 1), int64(k.u + 1), rating, comment, at})
		products[k.p].reviews++
		products[k.p].ratingSum += int(rating)
	}

	for i, p := range products {
		d.products[i][9], d.products[i][10], d.products[i][11] = int32(p.sold), int32(p.reviews), int32(p.ratingSum)
	}
	return &d
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.Intn(len(xs))] }
