// Package stalecheck checks the shop's correctness rule while it runs:
// once a write has been acknowledged, no later read, from any layer, on
// any instance, shows an older value.
//
// Writers raise the prices of a few products, through the shop's admin API
// (on any instance) and straight through SQL, each write to a product above
// the one before, so a price is a version. Readers fetch product pages, the
// API, the category page and the home page from every instance, and each
// read is checked against the writes acknowledged before it started: it
// must show that price or a newer one. A write through the shop is
// acknowledged when its response arrives; a write through SQL when its
// commit returns plus changes.ExternalBound, the time the shop allows
// itself to hear of writes made behind its back.
//
// Differential (differential.go) checks the rule for every field a page
// shows: after each of many random writes of every kind, the pages the
// write can touch are fetched from cache-on instances and from a cache-off
// one on the same database, and must be the same, byte for byte, except
// for the parts a template marks with data-staleness, which are checked
// against their declared bound instead. Audit (audit.go) makes the same
// comparison once, for the pages a load touched: the benchmark's check of
// every field after its writes.
package stalecheck

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"example.com/shop/internal/changes"
	"example.com/shop/internal/money"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Config says what to check.
type Config struct {
	Instances  []string // base URLs of the shop instances
	DB         *pgxpool.Pool
	AdminToken string // the instances' SHOP_ADMIN_TOKEN
	// CustomerEmail and CustomerPassword log one reader in, so logged-in
	// pages are checked too; empty: anonymous readers only.
	CustomerEmail, CustomerPassword string
	Duration                        time.Duration
	Writers, Readers                int
	SQLShare                        float64 // the part of writes made with SQL (0 to 1)
	Seed                            uint64
	Products                        int // products written (default 6, all on the home page)
	// MinReads and MinWrites make the check go on past Duration until it
	// has done that much (at least one write by SQL too, when SQLShare is
	// above 0), for at most ten times Duration: on a busy machine a fixed
	// time checks too little to mean anything.
	MinReads, MinWrites int
}

// Report is what a check found.
type Report struct {
	Reads, Checked, Writes, SQLWrites, Errors int
	Violations                                []Violation
}

func (r Report) String() string {
	return fmt.Sprintf("%d reads (%d prices checked), %d writes (%d by SQL), %d request errors, %d stale reads",
		r.Reads, r.Checked, r.Writes, r.SQLWrites, r.Errors, len(r.Violations))
}

// Violation is a read that showed an older price than an acknowledged write.
type Violation struct {
	Instance, Path string
	Product        int64
	Saw, Want      money.Money
	ReadAt, AckAt  time.Time
}

func (v Violation) String() string {
	return fmt.Sprintf("%s%s: product %d at %s, want %s (acknowledged %s before the read began)",
		v.Instance, v.Path, v.Product, v.Saw, v.Want, v.ReadAt.Sub(v.AckAt).Round(time.Microsecond))
}

// Ledger records the prices whose writes were acknowledged and checks
// reads against them. It is safe for concurrent use.
type Ledger struct {
	mu  sync.Mutex
	log map[int64][]write // by product, in order of acknowledgement
}

// write is one acknowledged price.
type write struct {
	price money.Money
	ack   time.Time
}

// NewLedger returns an empty ledger.
func NewLedger() *Ledger { return &Ledger{log: map[int64][]write{}} }

// Ack records that the write of price to product was acknowledged at t.
// Each product's prices must rise from write to write: a price is the
// version of its product.
func (l *Ledger) Ack(product int64, price money.Money, t time.Time) {
	l.mu.Lock()
	l.log[product] = append(l.log[product], write{price, t})
	l.mu.Unlock()
}

// Stale reports whether a read that began at start and showed price saw
// for product is older than a write acknowledged before it began, and if
// so which.
func (l *Ledger) Stale(product int64, saw money.Money, start time.Time) (want money.Money, ackAt time.Time, stale bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var last write
	found := false
	for _, w := range l.log[product] {
		if w.ack.Before(start) && (!found || w.price > last.price) {
			last, found = w, true
		}
	}
	if found && saw < last.price {
		return last.price, last.ack, true
	}
	return 0, time.Time{}, false
}

type checker struct {
	cfg      Config
	category string
	ids      []int64
	mu       []sync.Mutex // per product: one write at a time, so prices rise in commit order
	next     []money.Money
	ledger   *Ledger
	report   Report
	reportMu sync.Mutex
	client   *http.Client
}

// Run creates the products, checks for at least cfg.Duration (longer until
// the minimums of cfg are met) and removes them.
func Run(ctx context.Context, cfg Config) (Report, error) {
	if cfg.Products <= 0 {
		cfg.Products = 6
	}
	if cfg.Writers <= 0 {
		cfg.Writers = 2
	}
	if cfg.Readers <= 0 {
		cfg.Readers = 4
	}
	c := &checker{cfg: cfg, ledger: NewLedger(), client: &http.Client{Timeout: 30 * time.Second}}
	if err := c.setUp(ctx); err != nil {
		return Report{}, err
	}
	defer c.tearDown(context.WithoutCancel(ctx))

	runCtx, cancel := context.WithTimeout(ctx, 10*cfg.Duration)
	defer cancel()
	go func() {
		timer := time.NewTimer(cfg.Duration)
		defer timer.Stop()
		select {
		case <-runCtx.Done():
			return
		case <-timer.C:
		}
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for !c.enough() {
			select {
			case <-runCtx.Done():
				return
			case <-tick.C:
			}
		}
		cancel()
	}()
	var wg sync.WaitGroup
	for i := range cfg.Writers {
		r := rand.New(rand.NewPCG(cfg.Seed, uint64(i)))
		wg.Go(func() { c.writer(runCtx, r) })
	}
	for i := range cfg.Readers {
		r := rand.New(rand.NewPCG(cfg.Seed, uint64(100+i)))
		login := i == 0 && cfg.CustomerEmail != ""
		wg.Go(func() { c.reader(runCtx, r, login) })
	}
	wg.Wait()
	return c.report, nil
}

func (c *checker) setUp(ctx context.Context) error {
	c.category = fmt.Sprintf("stale-check-%d", time.Now().UnixNano())
	var catID int64
	err := c.cfg.DB.QueryRow(ctx, `INSERT INTO categories (slug, name) VALUES ($1, 'Stale check') RETURNING id`, c.category).Scan(&catID)
	if err != nil {
		return fmt.Errorf("create the check's category: %w", err)
	}
	rows, err := c.cfg.DB.Query(ctx, `INSERT INTO products (category_id, slug, name, price, stock, featured)
		SELECT $1, $2 || '-' || i, 'Checked product ' || i, 100.00, 100, true FROM generate_series(1, $3::int) i RETURNING id`,
		catID, c.category, c.cfg.Products)
	if err != nil {
		return fmt.Errorf("create the check's products: %w", err)
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return err
		}
		c.ids = append(c.ids, id)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	c.mu = make([]sync.Mutex, len(c.ids))
	c.next = make([]money.Money, len(c.ids))
	for i := range c.next {
		c.next[i] = 10000
	}
	// Let every instance hear of the new products before checking.
	time.Sleep(changes.ExternalBound)
	return nil
}

func (c *checker) tearDown(ctx context.Context) {
	_, _ = c.cfg.DB.Exec(ctx, `DELETE FROM products WHERE category_id = (SELECT id FROM categories WHERE slug = $1)`, c.category)
	_, _ = c.cfg.DB.Exec(ctx, `DELETE FROM categories WHERE slug = $1`, c.category)
}

// enough reports whether the check has done the work its config asks for.
func (c *checker) enough() bool {
	c.reportMu.Lock()
	defer c.reportMu.Unlock()
	r := c.report
	return r.Reads >= c.cfg.MinReads && r.Writes >= c.cfg.MinWrites && (c.cfg.SQLShare <= 0 || r.SQLWrites > 0)
}

func (c *checker) count(f func(r *Report)) {
	c.reportMu.Lock()
	f(&c.report)
	c.reportMu.Unlock()
}

// writer raises prices until ctx ends.
func (c *checker) writer(ctx context.Context, r *rand.Rand) {
	for ctx.Err() == nil {
		i := r.IntN(len(c.ids))
		c.mu[i].Lock()
		price := c.next[i] + money.Money(1+r.IntN(50))
		bySQL := r.Float64() < c.cfg.SQLShare
		var ack time.Time
		var err error
		if bySQL {
			_, err = c.cfg.DB.Exec(ctx, `UPDATE products SET price = $1, stock = $2 WHERE id = $3`, price, r.IntN(100), c.ids[i])
			ack = time.Now().Add(changes.ExternalBound)
		} else {
			err = c.patch(ctx, c.cfg.Instances[r.IntN(len(c.cfg.Instances))], c.ids[i], price)
			ack = time.Now()
		}
		if err == nil {
			c.next[i] = price
			c.ledger.Ack(c.ids[i], price, ack)
			c.count(func(r *Report) {
				r.Writes++
				if bySQL {
					r.SQLWrites++
				}
			})
		} else if ctx.Err() == nil {
			c.count(func(r *Report) { r.Errors++ })
		}
		c.mu[i].Unlock()
	}
}

func (c *checker) patch(ctx context.Context, base string, id int64, price money.Money) error {
	body := fmt.Sprintf(`{"price":%q}`, price.String())
	req, err := http.NewRequestWithContext(ctx, http.MethodPatch, fmt.Sprintf("%s/api/admin/products/%d", base, id), strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.cfg.AdminToken)
	res, err := c.client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("PATCH product %d: status %d", id, res.StatusCode)
	}
	return nil
}

var (
	pagePrice = regexp.MustCompile(`<p class="price big">([0-9.]+)</p>`)
	cardPrice = regexp.MustCompile(`(?s)<a href="/products/(\d+)" class="card-link">.*?<p class="price">([0-9.]+)</p>`)
)

// reader reads the checked products' prices from every kind of page until
// ctx ends.
func (c *checker) reader(ctx context.Context, r *rand.Rand, login bool) {
	client := c.client
	if login {
		jar, _ := cookiejar.New(nil)
		client = &http.Client{Jar: jar, Timeout: 30 * time.Second}
		for _, base := range c.cfg.Instances {
			_, _ = client.PostForm(base+"/login", url.Values{"email": {c.cfg.CustomerEmail}, "password": {c.cfg.CustomerPassword}})
		}
	}
	for ctx.Err() == nil {
		base := c.cfg.Instances[r.IntN(len(c.cfg.Instances))]
		id := c.ids[r.IntN(len(c.ids))]
		var path string
		switch r.IntN(4) {
		case 0:
			path = fmt.Sprintf("/products/%d", id)
		case 1:
			path = fmt.Sprintf("/api/products/%d", id)
		case 2:
			path = "/categories/" + c.category + "?sort=newest"
		default:
			path = "/"
		}
		start := time.Now()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		res, err := client.Do(req)
		if err != nil {
			if ctx.Err() == nil {
				c.count(func(r *Report) { r.Errors++ })
			}
			continue
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			c.count(func(r *Report) { r.Errors++ })
			continue
		}
		seen := PricesIn(path, id, body)
		var found []Violation
		for product, saw := range seen {
			if want, ackAt, stale := c.ledger.Stale(product, saw, start); stale {
				found = append(found, Violation{Instance: base, Path: path, Product: product, Saw: saw, Want: want, ReadAt: start, AckAt: ackAt})
			}
		}
		c.count(func(r *Report) {
			r.Reads++
			r.Checked += len(seen)
			r.Violations = append(r.Violations, found...)
		})
	}
}

// PricesIn returns the prices of products that the response to path shows:
// product id's on its page or in its JSON, every card's on a list.
func PricesIn(path string, id int64, body []byte) map[int64]money.Money {
	out := map[int64]money.Money{}
	switch {
	case strings.HasPrefix(path, "/api/"):
		var p struct {
			Price money.Money `json:"price"`
		}
		if json.Unmarshal(body, &p) == nil {
			out[id] = p.Price
		}
	case strings.HasPrefix(path, "/products/"):
		if m := pagePrice.FindSubmatch(body); m != nil {
			if p, err := money.Parse(string(m[1])); err == nil {
				out[id] = p
			}
		}
	default:
		for _, m := range cardPrice.FindAllSubmatch(body, -1) {
			pid, _ := strconv.ParseInt(string(m[1]), 10, 64)
			if p, err := money.Parse(string(m[2])); err == nil {
				out[pid] = p
			}
		}
	}
	return out
}
