package stalecheck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"example.com/shop/internal/money"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The channels a write goes through.
const (
	channelAPI   = "api"   // the admin JSON API, with the admin token
	channelForm  = "form"  // the admin pages' forms, as the logged-in admin
	channelShop  = "shop"  // the customer's pages, as the logged-in customer
	channelSQL   = "sql"   // straight to the database, as an outsider
	channelCache = "admin" // the admin's cache page
)

// touched is what a write can change, from which the pages it can touch
// follow (workingSet.pages): the pages that show what it changed, as
// the data relates them, and no others, so that the check stays fast.
type touched struct {
	home  bool // the home page: featured products, the ranking, the category menu
	lists bool // the lists of every product, HTML and JSON
	nav   bool // the categories with their counts (JSON)
	// products: each one's page and its JSON, and with customerView the
	// customer's and the guest's pages too (what they add: the cart
	// badge, the wishlist button, the review form); customerProducts and
	// guestProducts: the customer's or the guest's page only.
	products, customerProducts, guestProducts []int64
	customerView                              bool
	guest                                     bool // the guest's cart, and the home page as the guest
	theirLists                                bool // the lists of the products' categories too
	categories                                []int64
	priceSort                                 bool     // the lists and searches sorted by price too
	search                                    bool     // a search for each product's name
	searches                                  []string // and for these texts
	mine                                      bool     // the customer's cart and wishlist, when they hold one of the products
	cart, wishlist, account                   bool     // the customer's cart, wishlist, and dashboard and orders
	users                                     []int64  // renamed: the pages of the products they reviewed
	orders                                    []int64
}

// change is one write of the differential check.
type change struct {
	n                   int
	kind, channel, desc string
	touched             touched
	// do makes the write and returns once it is acknowledged: the
	// response has arrived, or (channelSQL) the commit has returned.
	// refused: the shop said no (a checkout of a cart out of stock),
	// which is a write attempt all the same.
	do func(ctx context.Context) (refused bool, err error)
	// after, when set, runs once the write is acknowledged, before the
	// pages it touched are listed (a created product's id is known then).
	after func()
}

func (w *change) String() string {
	return fmt.Sprintf("write #%d (%s via %s: %s)", w.n, w.kind, w.channel, w.desc)
}

// workingSet is the part of the shop the writes change: a few
// categories, their products, and the customer.
type workingSet struct {
	categories []int64
	customerID int64
	guestCart  int64 // the guest's cart
}

// setUp chooses the working set: three active categories with a few
// products each, some of them featured so that the home page shows them.
func (d *diff) setUp(ctx context.Context) error {
	pool := d.cfg.DB
	rows, err := pool.Query(ctx, `SELECT c.id FROM categories c JOIN products p ON p.category_id = c.id
		WHERE c.active AND p.active GROUP BY c.id HAVING count(*) BETWEEN 4 AND 12 ORDER BY c.id LIMIT 3`)
	if err != nil {
		return fmt.Errorf("choose the categories: %w", err)
	}
	if d.set.categories, err = pgx.CollectRows(rows, pgx.RowTo[int64]); err != nil {
		return fmt.Errorf("choose the categories: %w", err)
	}
	if len(d.set.categories) < 2 {
		return errors.New("the database has fewer than two categories of 4 to 12 products: seed it")
	}
	if err := pool.QueryRow(ctx, `SELECT id FROM users WHERE email = $1`, d.cfg.Customer.Email).Scan(&d.set.customerID); err != nil {
		return fmt.Errorf("find the customer: %w", err)
	}
	// Two featured products per category: the home page's featured list
	// then holds products the writes change.
	if _, err := pool.Exec(ctx, `UPDATE products SET featured = true WHERE id IN (
		SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY category_id ORDER BY id) AS n
		FROM products WHERE category_id = ANY($1) AND active) p WHERE n <= 2)`, d.set.categories); err != nil {
		return fmt.Errorf("feature products: %w", err)
	}
	return nil
}

// products returns the working set's products, active or not, by id.
func (s *workingSet) products(ctx context.Context, pool *pgxpool.Pool, where string) ([]int64, error) {
	rows, err := pool.Query(ctx, `SELECT id FROM products WHERE category_id = ANY($1) AND (`+where+`) ORDER BY id`, s.categories)
	if err != nil {
		return nil, fmt.Errorf("list the working set: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// pages returns the pages that what t names can touch, as the database has
// it now.
func (s *workingSet) pages(ctx context.Context, pool *pgxpool.Pool, t touched) ([]page, error) {
	var out []page
	seen := map[page]bool{}
	add := func(path string, customer bool) {
		p := page{path: path, customer: customer}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	search := func(text string) {
		if w := searchWord(text); w != "" {
			if t.priceSort {
				add("/search?q="+url.QueryEscape(w)+"&sort=price", false)
			} else {
				add("/search?q="+url.QueryEscape(w), false)
			}
		}
	}
	if t.home {
		add("/", false)
	}
	if t.lists {
		add("/products", false)
		add("/api/products", false)
	}
	if t.nav {
		add("/api/categories", false)
	}
	for _, q := range t.searches {
		search(q)
	}
	products := slices.Clone(t.products)
	for _, u := range t.users {
		rows, err := pool.Query(ctx, `SELECT product_id FROM reviews WHERE user_id = $1 AND product_id IN (
			SELECT id FROM products WHERE category_id = ANY($2)) ORDER BY product_id LIMIT 2`, u, s.categories)
		if err != nil {
			return nil, fmt.Errorf("products reviewed by %d: %w", u, err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return nil, fmt.Errorf("products reviewed by %d: %w", u, err)
		}
		for _, id := range ids {
			add(fmt.Sprintf("/products/%d", id), false)
			add(fmt.Sprintf("/products/%d", id), true)
		}
		if u == s.customerID {
			t.account = true
		}
	}
	addGuest := func(path string) {
		p := page{path: path, guest: true}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, id := range t.customerProducts {
		add(fmt.Sprintf("/products/%d", id), true)
	}
	for _, id := range t.guestProducts {
		addGuest(fmt.Sprintf("/products/%d", id))
	}
	categories := slices.Clone(t.categories)
	for _, id := range products {
		var cat int64
		var name string
		var inCart, inWishlist, inGuestCart bool
		err := pool.QueryRow(ctx, `SELECT category_id, name,
			EXISTS (SELECT 1 FROM cart_items WHERE user_id = $2 AND product_id = $1),
			EXISTS (SELECT 1 FROM wishlist_items WHERE user_id = $2 AND product_id = $1),
			EXISTS (SELECT 1 FROM guest_cart_items WHERE cart_id = $3 AND product_id = $1)
			FROM products WHERE id = $1`, id, s.customerID, s.guestCart).Scan(&cat, &name, &inCart, &inWishlist, &inGuestCart)
		if err == nil {
			if t.theirLists {
				categories = append(categories, cat)
			}
			if t.search {
				search(name)
			}
			t.cart = t.cart || t.mine && inCart
			t.wishlist = t.wishlist || t.mine && inWishlist
			t.guest = t.guest || t.mine && inGuestCart
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return nil, fmt.Errorf("read product %d: %w", id, err)
		}
		add(fmt.Sprintf("/products/%d", id), false)
		add(fmt.Sprintf("/api/products/%d", id), false)
		if t.customerView {
			add(fmt.Sprintf("/products/%d", id), true)
			addGuest(fmt.Sprintf("/products/%d", id))
		}
	}
	for _, id := range categories {
		var slug string
		if err := pool.QueryRow(ctx, `SELECT slug FROM categories WHERE id = $1`, id).Scan(&slug); err != nil {
			return nil, fmt.Errorf("read category %d: %w", id, err)
		}
		add("/categories/"+slug, false)
		add("/api/products?category="+slug, false)
		if t.priceSort {
			add("/categories/"+slug+"?sort=price", false)
		}
	}
	if t.cart {
		add("/cart", true)
	}
	if t.guest {
		addGuest("/cart")
		addGuest("/")
	}
	if t.wishlist {
		add("/wishlist", true)
	}
	if t.account {
		add("/dashboard", true)
		add("/orders", true)
		var last int64
		err := pool.QueryRow(ctx, `SELECT id FROM orders WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1`, s.customerID).Scan(&last)
		if err == nil {
			add(fmt.Sprintf("/orders/%d", last), true)
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return nil, fmt.Errorf("the customer's last order: %w", err)
		}
	}
	for _, id := range t.orders {
		add(fmt.Sprintf("/orders/%d", id), true)
	}
	return out, nil
}

var nonLetters = regexp.MustCompile(`[^a-z]+`)

// searchWord is the word of a name that a search for it uses: its longest.
func searchWord(name string) string {
	best := ""
	for _, w := range nonLetters.Split(strings.ToLower(name), -1) {
		if len(w) > len(best) {
			best = w
		}
	}
	return best
}

// product is a product's row, as the writes read it.
type product struct {
	ID          int64       `json:"id"`
	CategoryID  int64       `json:"category_id"`
	Slug        string      `json:"slug"`
	Name        string      `json:"name"`
	Description string      `json:"description"`
	Price       money.Money `json:"price"`
	Stock       int         `json:"stock"`
	Active      bool        `json:"active"`
	Featured    bool        `json:"featured"`
}

func (d *diff) product(ctx context.Context, id int64) (product, error) {
	var p product
	err := d.cfg.DB.QueryRow(ctx, `SELECT id, category_id, slug, name, description, price, stock, active, featured FROM products WHERE id = $1`, id).
		Scan(&p.ID, &p.CategoryID, &p.Slug, &p.Name, &p.Description, &p.Price, &p.Stock, &p.Active, &p.Featured)
	if err != nil {
		return product{}, fmt.Errorf("read product %d: %w", id, err)
	}
	return p, nil
}

// pick returns one of ids at random.
func pick[T any](r *rand.Rand, ids []T) T { return ids[r.IntN(len(ids))] }

// send makes a request to base and returns its status and body.
func (d *diff) send(ctx context.Context, method, base, path, contentType, body, cookie, token string) (int, []byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, method, base+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := d.client.Do(req)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, res.Header, err
}

// shopWrite sends a write to a cache-on instance drawn at random and
// checks its status.
func (d *diff) shopWrite(ctx context.Context, method, path, contentType, body, cookie, token string, want ...int) ([]byte, http.Header, error) {
	base := pick(d.r, d.cfg.Cached)
	status, b, h, err := d.send(ctx, method, base, path, contentType, body, cookie, token)
	if err != nil {
		return nil, nil, err
	}
	for _, w := range want {
		if status == w {
			return b, h, nil
		}
	}
	return nil, nil, fmt.Errorf("%s %s on %s: status %d, want %v: %.200s", method, path, base, status, want, b)
}

func (d *diff) form(ctx context.Context, path string, v url.Values, cookie string, want ...int) (http.Header, error) {
	_, h, err := d.shopWrite(ctx, http.MethodPost, path, "application/x-www-form-urlencoded", v.Encode(), cookie, "", want...)
	return h, err
}

func (d *diff) api(ctx context.Context, method, path string, body any, want ...int) ([]byte, error) {
	js, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	b, _, err := d.shopWrite(ctx, method, path, "application/json", string(js), "", d.cfg.AdminToken, want...)
	return b, err
}

// sql runs statements in one transaction, as an outsider would.
func (d *diff) sql(ctx context.Context, f func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, d.cfg.DB, f)
}

func (d *diff) exec(ctx context.Context, query string, args ...any) error {
	return d.sql(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, query, args...)
		return err
	})
}

// productForm is the admin form of p.
func productForm(p product) url.Values {
	v := url.Values{
		"category_id": {strconv.FormatInt(p.CategoryID, 10)}, "slug": {p.Slug}, "name": {p.Name},
		"description": {p.Description}, "price": {p.Price.String()}, "stock": {strconv.Itoa(p.Stock)},
	}
	if p.Active {
		v.Set("active", "on")
	}
	if p.Featured {
		v.Set("featured", "on")
	}
	return v
}

// A kind of write: its name, its channels, and how to plan one (ok false
// when the shop's state does not allow one now).
type kind struct {
	name     string
	channels []string
	plan     func(ctx context.Context, d *diff, w *change) (ok bool, err error)
}

// Kinds are every kind of write the check makes.
var kinds = []kind{
	{"price", productChannels, productChange(func(d *diff, p *product) string {
		p.Price = money.Money(100 + d.r.IntN(99900))
		return "price"
	})},
	{"stock", productChannels, productChange(func(d *diff, p *product) string {
		if p.Stock > 0 {
			p.Stock = 0
		} else {
			p.Stock = 1 + d.r.IntN(40)
		}
		return "stock"
	})},
	{"name", productChannels, productChange(func(d *diff, p *product) string {
		p.Name = newName(d.r)
		return "name"
	})},
	{"description", productChannels, productChange(func(d *diff, p *product) string {
		p.Description = fmt.Sprintf("%s, revised (%d).", pick(d.r, words), d.r.IntN(1000))
		return "description"
	})},
	{"category-moved", productChannels, productChange(func(d *diff, p *product) string {
		for {
			if c := pick(d.r, d.set.categories); c != p.CategoryID {
				p.CategoryID = c
				return "category_id"
			}
		}
	})},
	{"activity", productChannels, productChange(func(d *diff, p *product) string {
		p.Active = !p.Active
		return "active"
	})},
	{"featured", productChannels, productChange(func(d *diff, p *product) string {
		p.Featured = !p.Featured
		return "featured"
	})},
	{"product-created", productChannels, planCreate},
	{"product-deleted", productChannels, planDelete},
	{"category-renamed", []string{channelSQL}, planCategoryRename},
	{"category-activity", []string{channelSQL}, planCategoryActivity},
	{"review", []string{channelShop, channelSQL}, planReview},
	{"customer-renamed", []string{channelSQL}, planRename},
	{"wishlists-emptied", []string{channelSQL}, planEmptyWishlists},
	{"cart-add", []string{channelShop}, planCartAdd},
	{"cart-remove", []string{channelShop}, planCartRemove},
	{"guest-cart-add", []string{channelShop, channelSQL}, planGuestCartAdd},
	{"guest-cart-remove", []string{channelShop, channelSQL}, planGuestCartRemove},
	{"wishlist", []string{channelShop}, planWishlist},
	{"checkout", []string{channelShop}, planCheckout},
	{"cancellation", []string{channelAPI, channelForm, channelSQL}, planOrderStatus("cancelled")},
	{"order-completed", []string{channelAPI, channelForm, channelSQL}, planOrderStatus("completed")},
	{"cache-action", []string{channelCache}, planCacheAction},
}

var productChannels = []string{channelAPI, channelForm, channelSQL}

var words = []string{"Amber", "Birch", "Cobalt", "Dune", "Ember", "Fjord", "Granite", "Harbor", "Indigo", "Juniper",
	"Kestrel", "Lantern", "Meadow", "Nimbus", "Orchard", "Pebble", "Quartz", "Rowan", "Summit", "Tundra"}

// newName is a product name of words the seed does not use, so that its
// search finds few products.
func newName(r *rand.Rand) string {
	return fmt.Sprintf("%s %s %d", pick(r, words), pick(r, words), r.IntN(1000))
}

// plan draws the next write.
func (d *diff) plan(ctx context.Context, n int) (*change, error) {
	for range 100 {
		k := pick(d.r, kinds)
		w := &change{n: n, kind: k.name, channel: pick(d.r, k.channels)}
		ok, err := k.plan(ctx, d, w)
		if err != nil {
			return nil, fmt.Errorf("plan a %s write: %w", k.name, err)
		}
		if ok {
			return w, nil
		}
	}
	return nil, errors.New("no write is possible: the working set is used up")
}

// productChange plans a change of one field of a product of the working
// set: set changes it on the product and returns its column (and JSON)
// name.
func productChange(set func(d *diff, p *product) string) func(context.Context, *diff, *change) (bool, error) {
	return func(ctx context.Context, d *diff, w *change) (bool, error) {
		ids, err := d.set.products(ctx, d.cfg.DB, "true")
		if err != nil || len(ids) == 0 {
			return false, err
		}
		before, err := d.product(ctx, pick(d.r, ids))
		if err != nil {
			return false, err
		}
		after := before
		field := set(d, &after)
		var value any
		switch field {
		case "price":
			value = after.Price
		case "stock":
			value = after.Stock
		case "name":
			value = after.Name
		case "description":
			value = after.Description
		case "category_id":
			value = after.CategoryID
		case "active":
			value = after.Active
		case "featured":
			value = after.Featured
		}
		w.desc = fmt.Sprintf("product %d %s to %v", before.ID, field, value)
		w.touched = productTouched(field, before, after)
		w.do = func(ctx context.Context) (bool, error) {
			switch w.channel {
			case channelAPI:
				_, err := d.api(ctx, http.MethodPatch, fmt.Sprintf("/api/admin/products/%d", before.ID), map[string]any{field: value}, http.StatusOK)
				return false, err
			case channelForm:
				_, err := d.form(ctx, fmt.Sprintf("/admin/products/%d", before.ID), productForm(after), d.admin, http.StatusSeeOther)
				return false, err
			default:
				return false, d.exec(ctx, `UPDATE products SET `+field+` = $2 WHERE id = $1`, before.ID, value)
			}
		}
		return true, nil
	}
}

// productTouched is what a change of one field of a product touches.
func productTouched(field string, before, after product) touched {
	t := touched{products: []int64{before.ID}}
	switch field {
	case "price":
		t.theirLists, t.home, t.lists, t.priceSort, t.search, t.mine = true, true, true, true, true, true
	case "stock":
		t.theirLists, t.home, t.lists, t.mine, t.customerView = true, true, true, true, true
	case "name":
		t.theirLists, t.home, t.lists, t.search, t.mine = true, true, true, true, true
		t.searches = []string{before.Name}
	case "description":
		t.searches = []string{before.Description, after.Description}
	case "category_id":
		t.categories = []int64{before.CategoryID, after.CategoryID}
		t.home, t.lists, t.nav, t.search = true, true, true, true
	case "active":
		t.theirLists, t.home, t.lists, t.nav, t.search, t.mine, t.customerView = true, true, true, true, true, true, true
	case "featured":
		t.home = true
	}
	return t
}

func planCreate(ctx context.Context, d *diff, w *change) (bool, error) {
	p := product{CategoryID: pick(d.r, d.set.categories), Name: newName(d.r), Description: "New in.",
		Price: money.Money(100 + d.r.IntN(99900)), Stock: 1 + d.r.IntN(40), Active: true, Featured: d.r.IntN(2) == 0}
	w.desc = fmt.Sprintf("product %q in category %d, featured %v", p.Name, p.CategoryID, p.Featured)
	w.touched = touched{home: true, lists: true, nav: true, categories: []int64{p.CategoryID}, searches: []string{p.Name}}
	var id int64
	w.do = func(ctx context.Context) (bool, error) {
		switch w.channel {
		case channelAPI:
			in := map[string]any{"category_id": p.CategoryID, "name": p.Name, "description": p.Description,
				"price": p.Price, "stock": p.Stock, "active": p.Active, "featured": p.Featured}
			b, err := d.api(ctx, http.MethodPost, "/api/admin/products", in, http.StatusCreated)
			if err != nil {
				return false, err
			}
			var created product
			if err := json.Unmarshal(b, &created); err != nil {
				return false, fmt.Errorf("the created product: %w", err)
			}
			id = created.ID
		case channelForm:
			h, err := d.form(ctx, "/admin/products", productForm(p), d.admin, http.StatusSeeOther)
			if err != nil {
				return false, err
			}
			if _, err := fmt.Sscanf(h.Get("Location"), "/admin/products/%d/edit", &id); err != nil {
				return false, fmt.Errorf("the created product's address %q: %w", h.Get("Location"), err)
			}
		default:
			err := d.cfg.DB.QueryRow(ctx, `INSERT INTO products (category_id, slug, name, description, price, stock, active, featured)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
				p.CategoryID, fmt.Sprintf("checked-%d-%d", d.cfg.Seed, w.n), p.Name, p.Description, p.Price, p.Stock, p.Active, p.Featured).Scan(&id)
			if err != nil {
				return false, err
			}
		}
		return false, nil
	}
	w.after = func() { w.touched.products = []int64{id} }
	return true, nil
}

func planDelete(ctx context.Context, d *diff, w *change) (bool, error) {
	ids, err := d.set.products(ctx, d.cfg.DB, "active")
	if err != nil || len(ids) <= 3*len(d.set.categories) {
		return false, err // keep enough products to write to
	}
	// Half the time, one the customer has in the cart or wishlist, or the
	// guest in the cart: what a deletion cascades to.
	if d.r.IntN(2) == 0 {
		mine, err := d.set.products(ctx, d.cfg.DB, `id IN (SELECT product_id FROM cart_items WHERE user_id = `+strconv.FormatInt(d.set.customerID, 10)+
			` UNION SELECT product_id FROM wishlist_items WHERE user_id = `+strconv.FormatInt(d.set.customerID, 10)+
			` UNION SELECT product_id FROM guest_cart_items WHERE cart_id = `+strconv.FormatInt(d.set.guestCart, 10)+`)`)
		if err != nil {
			return false, err
		}
		if len(mine) > 0 {
			ids = mine
		}
	}
	p, err := d.product(ctx, pick(d.r, ids))
	if err != nil {
		return false, err
	}
	w.desc = fmt.Sprintf("product %d %q", p.ID, p.Name)
	w.touched = touched{home: true, lists: true, nav: true, search: true, mine: true, theirLists: true, customerView: true, products: []int64{p.ID}}
	w.do = func(ctx context.Context) (bool, error) {
		switch w.channel {
		case channelAPI:
			_, err := d.api(ctx, http.MethodDelete, fmt.Sprintf("/api/admin/products/%d", p.ID), nil, http.StatusNoContent)
			return false, err
		case channelForm:
			_, err := d.form(ctx, fmt.Sprintf("/admin/products/%d/delete", p.ID), url.Values{}, d.admin, http.StatusSeeOther)
			return false, err
		default:
			return false, d.exec(ctx, `DELETE FROM products WHERE id = $1`, p.ID)
		}
	}
	return true, nil
}

// categoryTouched is what a change of category id touches: its lists,
// the category menus, and two of its products' pages.
func (d *diff) categoryTouched(ctx context.Context, id int64) (touched, error) {
	ids, err := d.set.products(ctx, d.cfg.DB, "active AND category_id = "+strconv.FormatInt(id, 10))
	if err != nil {
		return touched{}, err
	}
	return touched{home: true, nav: true, customerView: true, categories: []int64{id}, products: ids[:min(2, len(ids))]}, nil
}

func planCategoryRename(ctx context.Context, d *diff, w *change) (bool, error) {
	id := pick(d.r, d.set.categories)
	name := fmt.Sprintf("%s Goods %d", pick(d.r, words), w.n)
	t, err := d.categoryTouched(ctx, id)
	if err != nil {
		return false, err
	}
	var old string
	if err := d.cfg.DB.QueryRow(ctx, `SELECT name FROM categories WHERE id = $1`, id).Scan(&old); err != nil {
		return false, fmt.Errorf("read category %d: %w", id, err)
	}
	t.searches = []string{old, name} // a category's name is searched
	w.desc, w.touched = fmt.Sprintf("category %d to %q", id, name), t
	w.do = func(ctx context.Context) (bool, error) {
		return false, d.exec(ctx, `UPDATE categories SET name = $2 WHERE id = $1`, id, name)
	}
	return true, nil
}

func planCategoryActivity(ctx context.Context, d *diff, w *change) (bool, error) {
	// At most one category of the working set is inactive at a time:
	// reactivate it, or deactivate one.
	var id int64
	var active bool
	err := d.cfg.DB.QueryRow(ctx, `SELECT id, active FROM categories WHERE id = ANY($1) ORDER BY active, id LIMIT 1`, d.set.categories).Scan(&id, &active)
	if err != nil {
		return false, fmt.Errorf("choose a category: %w", err)
	}
	if active {
		id = pick(d.r, d.set.categories)
	}
	t, err := d.categoryTouched(ctx, id)
	if err != nil {
		return false, err
	}
	t.lists = true
	w.desc, w.touched = fmt.Sprintf("category %d active to %v", id, !active), t
	w.do = func(ctx context.Context) (bool, error) {
		return false, d.exec(ctx, `UPDATE categories SET active = $2 WHERE id = $1`, id, !active)
	}
	return true, nil
}

func planReview(ctx context.Context, d *diff, w *change) (bool, error) {
	author := d.set.customerID
	if w.channel == channelSQL {
		// Somebody else, who has not reviewed the product yet.
		if err := d.cfg.DB.QueryRow(ctx, `SELECT id FROM users WHERE NOT is_admin AND id <> $1 ORDER BY id LIMIT 1 OFFSET $2`,
			d.set.customerID, d.r.IntN(20)).Scan(&author); err != nil {
			return false, fmt.Errorf("choose a reviewer: %w", err)
		}
	}
	ids, err := d.set.products(ctx, d.cfg.DB, "active AND id NOT IN (SELECT product_id FROM reviews WHERE user_id = "+strconv.FormatInt(author, 10)+")")
	if err != nil || len(ids) == 0 {
		return false, err
	}
	id, rating := pick(d.r, ids), 1+d.r.IntN(5)
	comment := fmt.Sprintf("%s, %d stars.", pick(d.r, words), rating)
	w.desc = fmt.Sprintf("user %d rates product %d %d", author, id, rating)
	w.touched = touched{home: true, theirLists: true, customerView: true, products: []int64{id}}
	w.do = func(ctx context.Context) (bool, error) {
		if w.channel == channelShop {
			_, err := d.form(ctx, fmt.Sprintf("/products/%d/reviews", id), url.Values{"rating": {strconv.Itoa(rating)}, "comment": {comment}}, d.customer, http.StatusSeeOther)
			return false, err
		}
		return false, d.sql(ctx, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO reviews (product_id, user_id, rating, comment) VALUES ($1, $2, $3, $4)`, id, author, rating, comment); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `UPDATE products SET review_count = review_count + 1, rating_total = rating_total + $2 WHERE id = $1`, id, rating)
			return err
		})
	}
	return true, nil
}

func planRename(ctx context.Context, d *diff, w *change) (bool, error) {
	user := d.set.customerID
	if d.r.IntN(2) == 0 {
		// A reviewer of the working set.
		err := d.cfg.DB.QueryRow(ctx, `SELECT user_id FROM reviews WHERE user_id <> $1 AND product_id IN (SELECT id FROM products WHERE category_id = ANY($2))
			GROUP BY user_id ORDER BY user_id LIMIT 1 OFFSET $3`, d.set.customerID, d.set.categories, d.r.IntN(5)).Scan(&user)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return false, fmt.Errorf("choose a reviewer: %w", err)
		}
	}
	name := fmt.Sprintf("%s %s", pick(d.r, words), pick(d.r, words))
	w.desc = fmt.Sprintf("user %d to %q", user, name)
	w.touched = touched{cart: true, users: []int64{user}}
	w.do = func(ctx context.Context) (bool, error) {
		return false, d.exec(ctx, `UPDATE users SET name = $2 WHERE id = $1`, user, name)
	}
	return true, nil
}

// planEmptyWishlists empties every wishlist with TRUNCATE, which names no
// rows: the shop hears of it as a change of all of them.
func planEmptyWishlists(ctx context.Context, d *diff, w *change) (bool, error) {
	rows, err := d.cfg.DB.Query(ctx, `SELECT product_id FROM wishlist_items WHERE user_id = $1 ORDER BY product_id`, d.set.customerID)
	if err != nil {
		return false, fmt.Errorf("read the wishlist: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return false, fmt.Errorf("read the wishlist: %w", err)
	}
	w.desc = fmt.Sprintf("the customer's products %v among them", ids)
	w.touched = touched{wishlist: true, customerProducts: ids}
	w.do = func(ctx context.Context) (bool, error) {
		return false, d.exec(ctx, `TRUNCATE wishlist_items`)
	}
	return true, nil
}

func planCartAdd(ctx context.Context, d *diff, w *change) (bool, error) {
	ids, err := d.set.products(ctx, d.cfg.DB, "active AND stock > 0")
	if err != nil || len(ids) == 0 {
		return false, err
	}
	id, q := pick(d.r, ids), 1+d.r.IntN(2)
	w.desc = fmt.Sprintf("%d of product %d", q, id)
	w.touched = touched{cart: true, customerProducts: []int64{id}}
	w.do = func(ctx context.Context) (bool, error) {
		_, err := d.form(ctx, "/cart/items", url.Values{"product_id": {strconv.FormatInt(id, 10)}, "quantity": {strconv.Itoa(q)}}, d.customer, http.StatusSeeOther)
		return false, err
	}
	return true, nil
}

func (d *diff) cart(ctx context.Context) ([]int64, error) {
	rows, err := d.cfg.DB.Query(ctx, `SELECT product_id FROM cart_items WHERE user_id = $1 ORDER BY product_id`, d.set.customerID)
	if err != nil {
		return nil, fmt.Errorf("read the cart: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

func planCartRemove(ctx context.Context, d *diff, w *change) (bool, error) {
	ids, err := d.cart(ctx)
	if err != nil || len(ids) == 0 {
		return false, err
	}
	id := pick(d.r, ids)
	w.desc = fmt.Sprintf("product %d", id)
	w.touched = touched{cart: true, customerProducts: []int64{id}}
	w.do = func(ctx context.Context) (bool, error) {
		_, err := d.form(ctx, fmt.Sprintf("/cart/items/%d/delete", id), url.Values{}, d.customer, http.StatusSeeOther)
		return false, err
	}
	return true, nil
}

// planGuestCartAdd puts a product in the guest's cart, as the guest or
// from outside.
func planGuestCartAdd(ctx context.Context, d *diff, w *change) (bool, error) {
	ids, err := d.set.products(ctx, d.cfg.DB, "active AND stock > 0")
	if err != nil || len(ids) == 0 {
		return false, err
	}
	id, q := pick(d.r, ids), 1+d.r.IntN(2)
	w.desc = fmt.Sprintf("%d of product %d", q, id)
	w.touched = touched{guest: true, guestProducts: []int64{id}}
	w.do = func(ctx context.Context) (bool, error) {
		if w.channel == channelSQL {
			return false, d.exec(ctx, `INSERT INTO guest_cart_items (cart_id, product_id, quantity) VALUES ($1, $2, $3)
				ON CONFLICT (cart_id, product_id) DO UPDATE SET quantity = least(guest_cart_items.quantity + excluded.quantity, 99)`,
				d.set.guestCart, id, q)
		}
		_, err := d.form(ctx, "/cart/items", url.Values{"product_id": {strconv.FormatInt(id, 10)}, "quantity": {strconv.Itoa(q)}}, d.guest, http.StatusSeeOther)
		return false, err
	}
	return true, nil
}

// planGuestCartRemove takes a line out of the guest's cart; the last line
// stays, so that the guest keeps a cart to show.
func planGuestCartRemove(ctx context.Context, d *diff, w *change) (bool, error) {
	rows, err := d.cfg.DB.Query(ctx, `SELECT product_id FROM guest_cart_items WHERE cart_id = $1 ORDER BY product_id`, d.set.guestCart)
	if err != nil {
		return false, fmt.Errorf("read the guest's cart: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil || len(ids) < 2 {
		return false, err
	}
	id := pick(d.r, ids)
	w.desc = fmt.Sprintf("product %d", id)
	w.touched = touched{guest: true, guestProducts: []int64{id}}
	w.do = func(ctx context.Context) (bool, error) {
		if w.channel == channelSQL {
			return false, d.exec(ctx, `DELETE FROM guest_cart_items WHERE cart_id = $1 AND product_id = $2`, d.set.guestCart, id)
		}
		_, err := d.form(ctx, fmt.Sprintf("/cart/items/%d/delete", id), url.Values{}, d.guest, http.StatusSeeOther)
		return false, err
	}
	return true, nil
}

func planWishlist(ctx context.Context, d *diff, w *change) (bool, error) {
	ids, err := d.set.products(ctx, d.cfg.DB, "active")
	if err != nil || len(ids) == 0 {
		return false, err
	}
	id := pick(d.r, ids)
	w.desc = fmt.Sprintf("product %d toggled", id)
	w.touched = touched{wishlist: true, customerProducts: []int64{id}}
	w.do = func(ctx context.Context) (bool, error) {
		_, err := d.form(ctx, fmt.Sprintf("/wishlist/%d", id), url.Values{}, d.customer, http.StatusSeeOther)
		return false, err
	}
	return true, nil
}

// planCheckout buys the customer's cart; an empty cart gets a product
// first, so that a checkout is always possible (the check writes every
// kind, whatever the carts the draws before it left).
func planCheckout(ctx context.Context, d *diff, w *change) (bool, error) {
	ids, err := d.cart(ctx)
	if err != nil {
		return false, err
	}
	var add int64
	if len(ids) == 0 {
		stocked, err := d.set.products(ctx, d.cfg.DB, "active AND stock > 0")
		if err != nil || len(stocked) == 0 {
			return false, err
		}
		add = pick(d.r, stocked)
		ids = []int64{add}
	}
	w.desc = fmt.Sprintf("a cart of products %v", ids)
	// A sale moves the products in the popularity orders: of the lists, and
	// of the searches (their tie-break).
	w.touched = touched{home: true, lists: true, theirLists: true, customerView: true, search: true, cart: true, account: true, products: ids}
	w.do = func(ctx context.Context) (bool, error) {
		if add != 0 {
			if _, err := d.form(ctx, "/cart/items", url.Values{"product_id": {strconv.FormatInt(add, 10)}, "quantity": {"1"}}, d.customer, http.StatusSeeOther); err != nil {
				return false, err
			}
		}
		status, b, _, err := d.send(ctx, http.MethodPost, pick(d.r, d.cfg.Cached), "/checkout", "application/x-www-form-urlencoded", "", d.customer, "")
		switch {
		case err != nil:
			return false, err
		case status == http.StatusSeeOther:
			return false, nil
		case status == http.StatusConflict:
			return true, nil // a line out of stock or no longer for sale
		}
		return false, fmt.Errorf("POST /checkout: status %d: %.200s", status, b)
	}
	return true, nil
}

func planOrderStatus(to string) func(context.Context, *diff, *change) (bool, error) {
	return func(ctx context.Context, d *diff, w *change) (bool, error) {
		from := "status = 'pending'"
		if to == "cancelled" {
			from = "status <> 'cancelled'"
		}
		var id int64
		err := d.cfg.DB.QueryRow(ctx, `SELECT id FROM orders WHERE user_id = $1 AND `+from+` ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET $2`,
			d.set.customerID, d.r.IntN(2)).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("choose an order: %w", err)
		}
		rows, err := d.cfg.DB.Query(ctx, `SELECT product_id FROM order_items WHERE order_id = $1 AND product_id IS NOT NULL ORDER BY product_id`, id)
		if err != nil {
			return false, fmt.Errorf("read order %d: %w", id, err)
		}
		products, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return false, fmt.Errorf("read order %d: %w", id, err)
		}
		w.desc = fmt.Sprintf("order %d to %s", id, to)
		w.touched = touched{account: true, orders: []int64{id}}
		if to == "cancelled" {
			w.touched.home, w.touched.lists, w.touched.theirLists, w.touched.customerView, w.touched.search, w.touched.products = true, true, true, true, true, products
		}
		w.do = func(ctx context.Context) (bool, error) {
			switch w.channel {
			case channelAPI:
				_, err := d.api(ctx, http.MethodPost, fmt.Sprintf("/api/admin/orders/%d/status", id), map[string]string{"status": to}, http.StatusOK)
				return false, err
			case channelForm:
				_, err := d.form(ctx, fmt.Sprintf("/admin/orders/%d/status", id), url.Values{"status": {to}}, d.admin, http.StatusSeeOther)
				return false, err
			}
			return false, d.sql(ctx, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, `UPDATE orders SET status = $2 WHERE id = $1`, id, to); err != nil {
					return err
				}
				if to != "cancelled" {
					return nil
				}
				_, err := tx.Exec(ctx, `UPDATE products p SET stock = p.stock + oi.quantity, sold_count = greatest(p.sold_count - oi.quantity, 0)
					FROM order_items oi WHERE oi.order_id = $1 AND oi.product_id = p.id`, id)
				return err
			})
		}
		return true, nil
	}
}

func planCacheAction(ctx context.Context, d *diff, w *change) (bool, error) {
	ids, err := d.set.products(ctx, d.cfg.DB, "active")
	if err != nil || len(ids) == 0 {
		return false, err
	}
	id := pick(d.r, ids)
	path, v := "/admin/cache/invalidate", url.Values{"tag": {fmt.Sprintf("product:%d", id)}}
	switch d.r.IntN(3) {
	case 0:
		path, v = "/admin/cache/flush", url.Values{"alias": {"default"}}
	case 1:
		v.Set("tag", "categories")
	}
	w.desc = strings.TrimPrefix(path, "/admin/cache/") + " " + v.Encode()
	w.touched = touched{home: true, nav: true, products: []int64{id}}
	w.do = func(ctx context.Context) (bool, error) {
		_, err := d.form(ctx, path, v, d.admin, http.StatusSeeOther)
		return false, err
	}
	return true, nil
}

// Kinds returns the names of the kinds of write the differential check
// makes.
func Kinds() []string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = k.name
	}
	return out
}
