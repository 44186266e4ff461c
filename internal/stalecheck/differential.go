package stalecheck

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"example.com/shop/internal/changes"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DiffConfig says what the differential check compares: cache-on
// instances against a cache-off one (CACHE_STORE=none), all on the
// database DB, whose session store they share (a customer's cookie must
// work on every one of them: Differential checks it).
type DiffConfig struct {
	Cached   []string // base URLs of the cache-on instances
	Uncached string   // base URL of the cache-off instance
	DB       *pgxpool.Pool
	// Listeners are the change listeners of the cache-on instances: a
	// write through SQL is acknowledged once each has processed it.
	Listeners  []Progress
	AdminToken string // the instances' SHOP_ADMIN_TOKEN
	// Admin and Customer log in: the admin for the admin pages' forms, the
	// customer for the logged-in pages and the shop's customer writes.
	Admin, Customer Login
	Writes          int
	Seed            uint64
	// Logf, when set, hears of progress now and then.
	Logf func(format string, args ...any)
}

// Login is an account's email and password.
type Login struct{ Email, Password string }

// Writes is how many writes a differential check makes: STALECHECK_WRITES,
// or def when it is not set.
func Writes(def int) (int, error) {
	v := os.Getenv("STALECHECK_WRITES")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("STALECHECK_WRITES: %q is not a positive number", v)
	}
	return n, nil
}

// Progress is a change listener's processed change number
// (changes.Listener.Processed).
type Progress interface{ Processed() int64 }

// DiffReport is what a differential check found.
type DiffReport struct {
	Writes      map[string]int // by kind and channel, "price/sql"
	Refused     map[string]int // writes the shop refused (a checkout of a cart no longer in stock), by kind
	Compared    int            // page comparisons, one per page per cache-on instance
	Warm, Cold  int            // pages served before a write without a miss (warm), or still missing after three fetches
	Marked      int            // marked parts checked against their bound
	SQLWaits    int            // SQL writes whose invalidation was waited for
	SlowestSQL  time.Duration  // the longest wait for the listeners after an SQL write
	OverBound   int            // SQL writes the listeners took longer than changes.ExternalBound to process
	Differences []Difference
	Took        time.Duration
	Phases      map[string]time.Duration // time spent in each phase of the writes
}

// Difference is a page that a cache-on instance served otherwise than
// the cache-off one after a write was acknowledged.
type Difference struct {
	Write string // the write that preceded it
	// Since is, when the page already differed in the same way after an
	// earlier write and has not been right since, that write: the one that
	// left it stale. Empty when the difference is new.
	Since    string
	Kind     string // the kind and channel of the write that made the difference (Since's, or Write's)
	Page     string
	Instance string
	What     string // status, body at byte N, marked part
	Cached   string // the first differing text, as the cache-on instance served it
	Uncached string // and as the cache-off instance did
}

func (d Difference) String() string {
	since := ""
	if d.Since != "" {
		since = ", still as after " + d.Since
	}
	return fmt.Sprintf("after %s%s: %s on %s: %s differs:\n\tcached:   %s\n\tuncached: %s", d.Write, since, d.Page, d.Instance, d.What, d.Cached, d.Uncached)
}

func (r DiffReport) String() string {
	total := 0
	for _, n := range r.Writes {
		total += n
	}
	var phases []string
	for _, p := range []string{"plan", "warm", "write", "listeners", "compare"} {
		phases = append(phases, fmt.Sprintf("%s %s", p, r.Phases[p].Round(100*time.Millisecond)))
	}
	return fmt.Sprintf("%d writes, %d page comparisons, %d marked parts checked, %d differences; before the writes %d pages were warm and %d still missing; %d SQL writes, the slowest heard after %s (%d over the %s bound); in %s (%s)",
		total, r.Compared, r.Marked, len(r.Differences), r.Warm, r.Cold, r.SQLWaits, r.SlowestSQL.Round(time.Millisecond), r.OverBound, changes.ExternalBound,
		r.Took.Round(time.Second), strings.Join(phases, ", "))
}

// Groups returns the new differences (those a write made, not those
// still left by an earlier one) counted by the kind of write that made
// them and the kind of page, most frequent first: "category-renamed/sql on
// /products/{id}: 12".
func (r DiffReport) Groups() []string {
	counts := map[string]int{}
	for _, d := range r.Differences {
		if d.Since == "" {
			counts[d.Kind+" on "+PageKind(d.Page)]++
		}
	}
	out := make([]string, 0, len(counts))
	for k := range counts {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		if counts[out[i]] != counts[out[j]] {
			return counts[out[i]] > counts[out[j]]
		}
		return out[i] < out[j]
	})
	for i, k := range out {
		out[i] = fmt.Sprintf("%s: %d", k, counts[k])
	}
	return out
}

// PageKind names a page without its ids: /products/{id}.
func PageKind(p string) string {
	p, customer := strings.CutSuffix(p, " (customer)")
	p, guest := strings.CutSuffix(p, " (guest)")
	path, query, _ := strings.Cut(p, "?")
	parts := strings.Split(path, "/")
	for i := range parts {
		if _, err := strconv.ParseInt(parts[i], 10, 64); err == nil {
			parts[i] = "{id}"
		} else if i == 2 && parts[1] == "categories" {
			parts[i] = "{slug}"
		}
	}
	out := strings.Join(parts, "/")
	if query != "" {
		q, _ := url.ParseQuery(query)
		var keys []string
		for k := range q {
			if k == "sort" {
				keys = append(keys, k+"="+q.Get(k))
			} else {
				keys = append(keys, k+"=…")
			}
		}
		sort.Strings(keys)
		out += "?" + strings.Join(keys, "&")
	}
	switch {
	case customer:
		out += " (customer)"
	case guest:
		out += " (guest)"
	}
	return out
}

// page is one URL, fetched anonymously, as the customer or as the guest.
type page struct {
	path     string
	customer bool
	guest    bool
}

func (p page) String() string {
	switch {
	case p.customer:
		return p.path + " (customer)"
	case p.guest:
		return p.path + " (guest)"
	}
	return p.path
}

// diff is one run of the differential check.
type diff struct {
	cfg      DiffConfig
	client   *http.Client
	customer string // the customer's session cookie
	guest    string // the guest's: a visitor with a cart and no account
	admin    string // the admin's
	r        *rand.Rand
	report   DiffReport
	// stale holds, by instance and page, the difference last seen there,
	// until the page is right again: a page left stale by one write is
	// reported as such after the writes that follow.
	stale     map[string]Difference
	set       workingSet
	instances []string // cached first, then uncached
}

// Differential runs cfg.Writes writes drawn at random (seeded by
// cfg.Seed), and after each compares every page the write can touch, on
// every cache-on instance, with the cache-off instance's. The pages are
// fetched from the cache-on instances before each write until they are
// served without a miss, so that the write has entries to invalidate.
//
// It returns an error when it cannot run (a login that fails, a session
// one instance cannot read, a write that fails for a reason that is not a
// refusal, a listener that never hears a write); what it found is in the
// report.
func Differential(ctx context.Context, cfg DiffConfig) (DiffReport, error) {
	start := time.Now()
	d := &diff{
		cfg: cfg, r: rand.New(rand.NewPCG(cfg.Seed, 13)),
		client:    newClient(),
		report:    DiffReport{Writes: map[string]int{}, Refused: map[string]int{}, Phases: map[string]time.Duration{}},
		stale:     map[string]Difference{},
		instances: append(slices.Clone(cfg.Cached), cfg.Uncached),
	}
	if len(cfg.Cached) == 0 || cfg.Uncached == "" || len(cfg.Listeners) != len(cfg.Cached) {
		return DiffReport{}, errors.New("differential check: give cache-on instances, their listeners and a cache-off instance")
	}
	var err error
	if d.customer, err = d.login(ctx, cfg.Customer); err != nil {
		return DiffReport{}, err
	}
	if d.admin, err = d.login(ctx, cfg.Admin); err != nil {
		return DiffReport{}, err
	}
	if err := d.setUp(ctx); err != nil {
		return DiffReport{}, err
	}
	if err := d.startGuest(ctx); err != nil {
		return DiffReport{}, err
	}
	if err := d.calibrate(ctx); err != nil {
		return DiffReport{}, err
	}
	for n := 1; n <= cfg.Writes; n++ {
		if err := ctx.Err(); err != nil {
			return d.report, err
		}
		seen := len(d.report.Differences)
		if err := d.step(ctx, n); err != nil {
			return d.report, err
		}
		// Each new difference in full as it is found: a long run that is
		// stopped before its report keeps what it saw.
		for _, diff := range d.report.Differences[seen:] {
			if cfg.Logf != nil && diff.Since == "" {
				cfg.Logf("write %d: %s", n, diff)
			}
		}
		if cfg.Logf != nil && n%100 == 0 {
			cfg.Logf("%d writes, %d differences so far", n, len(d.report.Differences))
		}
	}
	d.report.Took = time.Since(start)
	return d.report, nil
}

// newClient is the check's HTTP client: it does not follow redirects, a
// redirect is an answer to compare.
func newClient() *http.Client {
	return &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport:     &http.Transport{MaxIdleConnsPerHost: 16},
	}
}

// login logs an account in on the cache-off instance and checks that its
// session cookie is good on every instance: the instances must share the
// session store.
func (d *diff) login(ctx context.Context, l Login) (string, error) {
	form := url.Values{"email": {l.Email}, "password": {l.Password}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.cfg.Uncached+"/login", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := d.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("log %s in: %w", l.Email, err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	var cookie string
	for _, c := range res.Cookies() {
		if c.Name == "shop_session" {
			cookie = c.Name + "=" + c.Value
		}
	}
	if res.StatusCode != http.StatusSeeOther || cookie == "" {
		return "", fmt.Errorf("log %s in: status %d, no session cookie", l.Email, res.StatusCode)
	}
	for _, base := range d.instances {
		r, err := d.fetch(ctx, base, "/dashboard", cookie)
		if err != nil {
			return "", err
		}
		if r.status != http.StatusOK {
			return "", fmt.Errorf("%s's session from the cache-off instance does not work on %s (GET /dashboard: %d): the instances must share their session store (SESSIONS_REDIS_URL)", l.Email, base, r.status)
		}
	}
	return cookie, nil
}

// fetch GETs path from base with a session cookie (or none).
func (d *diff) fetch(ctx context.Context, base, path, cookie string) (response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		return response{}, err
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	at := time.Now()
	res, err := d.client.Do(req)
	if err != nil {
		return response{}, fmt.Errorf("GET %s%s: %w", base, path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return response{}, fmt.Errorf("GET %s%s: %w", base, path, err)
	}
	misses := -1
	if v := res.Header.Get("X-Cache-Misses"); v != "" {
		misses, _ = strconv.Atoi(v)
	}
	return response{status: res.StatusCode, location: res.Header.Get("Location"), contentType: res.Header.Get("Content-Type"),
		body: body, misses: misses, at: at}, nil
}

func (d *diff) fetchPage(ctx context.Context, base string, p page) (response, error) {
	cookie := ""
	switch {
	case p.customer:
		cookie = d.customer
	case p.guest:
		cookie = d.guest
	}
	return d.fetch(ctx, base, p.path, cookie)
}

// startGuest makes the check's guest: an anonymous visitor who puts a
// product of the working set in a cart, on the cache-off instance, and
// whose guest session then works on every instance.
func (d *diff) startGuest(ctx context.Context) error {
	ids, err := d.set.products(ctx, d.cfg.DB, "active AND stock > 0")
	if err != nil || len(ids) == 0 {
		return fmt.Errorf("a product for the guest's cart: %v", err)
	}
	form := url.Values{"product_id": {strconv.FormatInt(ids[0], 10)}}
	status, body, h, err := d.send(ctx, http.MethodPost, d.cfg.Uncached, "/cart/items", "application/x-www-form-urlencoded", form.Encode(), "", "")
	if err != nil {
		return fmt.Errorf("start the guest's cart: %w", err)
	}
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == "shop_session" {
			d.guest = c.Name + "=" + c.Value
		}
	}
	if status != http.StatusSeeOther || d.guest == "" {
		return fmt.Errorf("start the guest's cart: status %d, no session cookie: %.200s", status, body)
	}
	if err := d.cfg.DB.QueryRow(ctx, `SELECT max(id) FROM guest_carts`).Scan(&d.set.guestCart); err != nil {
		return fmt.Errorf("find the guest's cart: %w", err)
	}
	for _, base := range d.instances {
		r, err := d.fetch(ctx, base, "/cart", d.guest)
		if err != nil {
			return err
		}
		if r.status != http.StatusOK || !strings.Contains(string(r.body), `class="badge"`) {
			return fmt.Errorf("the guest's session from the cache-off instance does not work on %s (GET /cart: %d): the instances must share their session store (SESSIONS_REDIS_URL)", base, r.status)
		}
	}
	return nil
}

// parallel runs f for each of n items, a few at a time, and returns the
// first error.
func parallel(n int, f func(i int) error) error {
	const inFlight = 6
	sem := make(chan struct{}, inFlight)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = f(i)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// calibrate renders every page of the working set twice on the cache-off
// instance and fails when the two renders differ outside marked parts:
// the comparison would then report differences no cache made, and what
// differs must be understood (and normalized, in compare.go) first.
func (d *diff) calibrate(ctx context.Context) error {
	ids, err := d.set.products(ctx, d.cfg.DB, "active")
	if err != nil {
		return err
	}
	every := touched{home: true, lists: true, nav: true, products: ids[:min(4, len(ids))], categories: d.set.categories,
		search: true, cart: true, wishlist: true, account: true, customerView: true, guest: true}
	pages, err := d.set.pages(ctx, d.cfg.DB, every)
	if err != nil {
		return err
	}
	every.priceSort = true
	byPrice, err := d.set.pages(ctx, d.cfg.DB, every)
	if err != nil {
		return err
	}
	pages = union(pages, byPrice)
	var mu sync.Mutex
	var problems []string
	err = parallel(len(pages), func(i int) error {
		a, err := d.fetchPage(ctx, d.cfg.Uncached, pages[i])
		if err != nil {
			return err
		}
		b, err := d.fetchPage(ctx, d.cfg.Uncached, pages[i])
		if err != nil {
			return err
		}
		what, x, y, _, err := compareResponses(a, b)
		if err != nil {
			return err
		}
		if what != "" {
			mu.Lock()
			problems = append(problems, fmt.Sprintf("%s: %s: «%s» then «%s»", pages[i], what, x, y))
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		return fmt.Errorf("two cache-off renders of the same page differ, so the comparison cannot tell a cache's doing from the page's own:\n%s", strings.Join(problems, "\n"))
	}
	return nil
}

// heard waits until every cache-on instance's change listener has
// processed every change committed so far, and returns how long that
// took.
func (d *diff) heard(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	last, err := lastChange(ctx, d.cfg.DB)
	if err != nil {
		return 0, err
	}
	deadline := start.Add(10 * changes.ExternalBound)
	for i, l := range d.cfg.Listeners {
		processed := func(context.Context) (int64, error) { return l.Processed(), nil }
		if err := waitProcessed(ctx, "the change listener of "+d.cfg.Cached[i], last, deadline, processed); err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}

// lastChange is the number of the last change committed so far. The
// change log holds committed changes only (the sequence also counts
// numbers that rolled back, which no listener hears of).
func lastChange(ctx context.Context, pool *pgxpool.Pool) (int64, error) {
	var last int64
	if err := pool.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM shop_change_log`).Scan(&last); err != nil {
		return 0, fmt.Errorf("read the change log: %w", err)
	}
	return last, nil
}

// waitProcessed waits until processed (who's: for the error) says change
// last has been processed, at most until deadline.
func waitProcessed(ctx context.Context, who string, last int64, deadline time.Time, processed func(context.Context) (int64, error)) error {
	start := time.Now()
	for wait := 200 * time.Microsecond; ; wait = min(2*wait, 10*time.Millisecond) {
		n, err := processed(ctx)
		if err != nil {
			return err
		}
		if n >= last {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s has processed change %d, not %d, after %s", who, n, last, time.Since(start).Round(time.Millisecond))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// warm fetches pages from every cache-on instance until each is served
// without a cache miss (at most three times: a search is stored on its
// second miss), so that a write finds them cached.
func (d *diff) warm(ctx context.Context, pages []page) error {
	// One instance after the other: two instances missing the same key at
	// once on a shared store wait for each other's lock, which only makes
	// the check slower.
	var mu sync.Mutex
	for _, base := range d.cfg.Cached {
		if err := d.warmOn(ctx, base, pages, &mu); err != nil {
			return err
		}
	}
	return nil
}

func (d *diff) warmOn(ctx context.Context, base string, pages []page, mu *sync.Mutex) error {
	return parallel(len(pages), func(i int) error {
		warm := false
		for range 3 {
			r, err := d.fetchPage(ctx, base, pages[i])
			if err != nil {
				return err
			}
			if r.misses == 0 {
				warm = true
				break
			}
		}
		mu.Lock()
		if warm {
			d.report.Warm++
		} else {
			d.report.Cold++
		}
		mu.Unlock()
		return nil
	})
}

// compare fetches pages from every instance and records each difference
// of a cache-on instance from the cache-off one, as following write (its
// description) of kind ("price/sql").
func (d *diff) compare(ctx context.Context, write, kind string, pages []page) error {
	var mu sync.Mutex
	products := map[int64]current{} // as the database has them now, for the marked parts
	lookup := func(id int64) (current, error) {
		mu.Lock()
		c, ok := products[id]
		mu.Unlock()
		if ok {
			return c, nil
		}
		// The row a card is made of (catalog's ListProductsByIDs): the
		// active product, as the database has it now.
		err := d.cfg.DB.QueryRow(ctx, `SELECT name, price, stock, review_count, rating_total FROM products WHERE id = $1 AND active`, id).
			Scan(&c.Name, &c.price, &c.Stock, &c.ReviewCount, &c.RatingTotal)
		switch {
		case err == nil:
			c.found, c.Price = true, c.price.String()
		case !errors.Is(err, pgx.ErrNoRows):
			return current{}, fmt.Errorf("read product %d: %w", id, err)
		}
		mu.Lock()
		products[id] = c
		mu.Unlock()
		return c, nil
	}
	// record notes what one instance served for one page: diffs, or
	// nothing wrong. A difference the same as the one seen there before
	// is the earlier write's doing.
	record := func(key string, diffs ...Difference) {
		mu.Lock()
		defer mu.Unlock()
		if len(diffs) == 0 {
			delete(d.stale, key)
			return
		}
		if old, ok := d.stale[key]; ok && old.What == diffs[0].What && old.Cached == diffs[0].Cached {
			since := old.Write
			if old.Since != "" {
				since = old.Since
			}
			for i := range diffs {
				diffs[i].Since, diffs[i].Kind = since, old.Kind
			}
		}
		d.stale[key] = diffs[0]
		d.report.Differences = append(d.report.Differences, diffs...)
	}
	return parallel(len(pages), func(i int) error {
		p := pages[i]
		// The cache-off instance at the same time as the cache-on ones,
		// which go one after the other (see warm).
		got := make([]response, len(d.instances))
		err := parallel(2, func(k int) error {
			var err error
			if k == 1 {
				got[len(got)-1], err = d.fetchPage(ctx, d.cfg.Uncached, p)
				return err
			}
			for j, base := range d.cfg.Cached {
				if got[j], err = d.fetchPage(ctx, base, p); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		uncached := got[len(got)-1]
		// The cache-off page's own marked parts must keep their promise:
		// if they do not, the check is wrong, not a cache.
		_, uparts, err := splitMarked(uncached.body)
		if err != nil {
			return fmt.Errorf("%s from the cache-off instance: %w", p, err)
		}
		for _, part := range uparts {
			problems, err := checkMarked(part, uncached.at, lookup)
			if err != nil {
				return err
			}
			if len(problems) > 0 {
				return fmt.Errorf("%s from the cache-off instance breaks its own marked part (%s): the check is wrong", p, strings.Join(problems, "; "))
			}
		}
		for j, cached := range got[:len(got)-1] {
			diff := Difference{Write: write, Kind: kind, Page: p.String(), Instance: fmt.Sprintf("cache-on instance %d (%s)", j, d.instances[j])}
			what, a, b, parts, err := compareResponses(cached, uncached)
			if err != nil {
				return fmt.Errorf("%s from %s: %w", p, d.instances[j], err)
			}
			mu.Lock()
			d.report.Compared++
			d.report.Marked += len(parts)
			mu.Unlock()
			key := d.instances[j] + " " + p.String()
			if what != "" {
				diff.What, diff.Cached, diff.Uncached = what, a, b
				record(key, diff)
				continue
			}
			var found []Difference
			for _, part := range parts {
				problems, err := checkMarked(part, cached.at, lookup)
				if err != nil {
					return err
				}
				for _, pr := range problems {
					dd := diff
					dd.What, dd.Cached, dd.Uncached = "marked part (declared stale up to "+part.bound.String()+")", pr, "(checked against the products as the database has them)"
					found = append(found, dd)
				}
			}
			record(key, found...)
		}
		return nil
	})
}

// step is one write: warm what it can touch, make it, wait for it to be
// acknowledged, compare what it can touch.
func (d *diff) step(ctx context.Context, n int) error {
	mark := time.Now()
	phase := func(name string) {
		now := time.Now()
		d.report.Phases[name] += now.Sub(mark)
		mark = now
	}
	// The previous write's notification reaches each instance at a time
	// of its own and runs the rules there again: wait for that, or it
	// could invalidate what is warmed now.
	if _, err := d.heard(ctx); err != nil {
		return err
	}
	phase("listeners")
	w, err := d.plan(ctx, n)
	if err != nil {
		return err
	}
	before, err := d.set.pages(ctx, d.cfg.DB, w.touched)
	if err != nil {
		return err
	}
	phase("plan")
	if err := d.warm(ctx, before); err != nil {
		return err
	}
	phase("warm")
	refused, err := w.do(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", w, err)
	}
	key := w.kind + "/" + w.channel
	if refused {
		d.report.Refused[key]++
	} else {
		d.report.Writes[key]++
	}
	phase("write")
	if w.channel == channelSQL {
		took, err := d.heard(ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", w, err)
		}
		d.report.SQLWaits++
		d.report.SlowestSQL = max(d.report.SlowestSQL, took)
		if took > changes.ExternalBound {
			d.report.OverBound++
		}
		phase("listeners")
	}
	if w.after != nil {
		w.after()
	}
	after, err := d.set.pages(ctx, d.cfg.DB, w.touched)
	if err != nil {
		return err
	}
	phase("plan")
	err = d.compare(ctx, w.String(), key, union(before, after))
	phase("compare")
	return err
}

func union(a, b []page) []page {
	seen := map[page]bool{}
	var out []page
	for _, p := range append(slices.Clone(a), b...) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}
