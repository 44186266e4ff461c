package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"example.com/shop/internal/accounts"
	"example.com/shop/internal/cache/backend"
	"example.com/shop/internal/cache/cachetest"
	"example.com/shop/internal/changes/changestest"
	"example.com/shop/internal/db"
	"example.com/shop/internal/testdb"
	"example.com/shop/internal/testlog"
	"example.com/shop/internal/web"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/bcrypt"
)

// adminToken is the bearer token of the admin API in tests.
const adminToken = "test-admin-token"

// testShop is the whole shop on a database of its own, served by httptest.
type testShop struct {
	t      testing.TB
	pool   *pgxpool.Pool
	url    string
	caches *backend.Caches
	svc    web.Services
}

// newTestShop serves a shop seeded at a small scale, caching in memory.
// Every seeded user's password is testdb.Password.
func newTestShop(t testing.TB) *testShop {
	t.Helper()
	return newTestShopWith(t, map[string]string{})
}

// newTestShopWith serves a shop with the cache settings of env (the
// variables of backend.ConfigFromEnv), on a database of its own; with Redis,
// its keys have a prefix of their own. env["DEV"] = "1" runs it in
// development mode (the debug panel for everybody).
func newTestShopWith(t testing.TB, env map[string]string) *testShop {
	t.Helper()
	return newTestShopOpts(t, shopOptions{env: env})
}

// shopOptions change what newTestShopOpts serves.
type shopOptions struct {
	env map[string]string
	// dial turns the database's URL into the one the shop connects to
	// (through a proxy that a test breaks, with pool settings).
	dial func(url string) string
	// config is the front's configuration; AdminToken is always set.
	config web.Config
	// database is the URL of a migrated database to serve; empty: a
	// fresh one, seeded.
	database string
}

func newTestShopOpts(t testing.TB, o shopOptions) *testShop {
	t.Helper()
	var direct *pgxpool.Pool
	url := o.database
	if url == "" {
		direct, url = testdb.Seeded(t, 0.2)
	} else {
		var err error
		if direct, err = db.Open(context.Background(), url); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(direct.Close)
	}
	if o.dial != nil {
		url = o.dial(url)
	}
	metrics := web.NewMetrics()
	pool, err := db.Open(context.Background(), url, metrics)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	// The caches are the database's, under its identity, as shop serve
	// opens them.
	caches := cachetest.CachesFor(t, direct, o.env, metrics.Cache)
	// Warn and up: the access lines of a load would bury a failure.
	logger := testlog.New(t, slog.LevelWarn)
	svc, err := web.NewServices(web.ServiceOptions{Pool: pool, Caches: caches, BcryptCost: bcrypt.MinCost, Logger: logger, Metrics: metrics})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	changestest.Run(t, svc.Changes)
	cfg := o.config
	cfg.AdminToken, cfg.Dev = adminToken, o.env["DEV"] == "1"
	h, err := web.New(cfg, svc, logger)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = slog.NewLogLogger(logger.Handler(), slog.LevelWarn) // as shop serve does
	srv.Start()
	t.Cleanup(srv.Close)
	return &testShop{t: t, pool: direct, url: srv.URL, caches: caches, svc: svc}
}

// client is a browser: it keeps cookies and does not follow redirects, so
// tests see them.
type client struct {
	shop *testShop
	http *http.Client
}

func (s *testShop) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{shop: s, http: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// response is what a test looks at: status, headers and body.
type response struct {
	status int
	header http.Header
	body   string
}

// queries returns the X-DB-Queries header as a number.
func (r response) queries(t testing.TB) int {
	t.Helper()
	n, err := strconv.Atoi(r.header.Get("X-DB-Queries"))
	if err != nil {
		t.Fatalf("X-DB-Queries = %q", r.header.Get("X-DB-Queries"))
	}
	return n
}

func (c *client) do(req *http.Request) response {
	c.shop.t.Helper()
	res, err := c.http.Do(req)
	if err != nil {
		c.shop.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.shop.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: string(b)}
}

func (c *client) get(path string, headers ...string) response {
	c.shop.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.shop.url+path, nil)
	if err != nil {
		c.shop.t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return c.do(req)
}

func (c *client) post(path string, form url.Values, headers ...string) response {
	c.shop.t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.shop.url+path, strings.NewReader(form.Encode()))
	if err != nil {
		c.shop.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return c.do(req)
}

func (c *client) json(method, path, body string, headers ...string) response {
	c.shop.t.Helper()
	req, err := http.NewRequest(method, c.shop.url+path, strings.NewReader(body))
	if err != nil {
		c.shop.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return c.do(req)
}

// login logs the client in and fails the test if that does not work.
func (c *client) login(email string) {
	c.shop.t.Helper()
	r := c.post("/login", url.Values{"email": {email}, "password": {testdb.Password}})
	if r.status != http.StatusSeeOther {
		c.shop.t.Fatalf("login as %s: status %d", email, r.status)
	}
}

// sessionCookie returns the client's session cookie value, or "".
func (c *client) sessionCookie() string {
	u, _ := url.Parse(c.shop.url)
	for _, ck := range c.http.Jar.Cookies(u) {
		if ck.Name == accounts.CookieName {
			return ck.Value
		}
	}
	return ""
}

// scalar runs a one-value query on the shop's database.
func (s *testShop) scalar(sql string, args ...any) int64 {
	s.t.Helper()
	var n int64
	if err := s.pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		s.t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// ids runs a query of ids on the shop's database and fails the test when
// it finds none.
func (s *testShop) ids(sql string, args ...any) []int64 {
	s.t.Helper()
	rows, err := s.pool.Query(context.Background(), sql, args...)
	if err != nil {
		s.t.Fatalf("%s: %v", sql, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil || len(ids) == 0 {
		s.t.Fatalf("%s: %v, %d ids", sql, err, len(ids))
	}
	return ids
}

// exec runs a statement on the shop's database.
func (s *testShop) exec(sql string, args ...any) {
	s.t.Helper()
	if _, err := s.pool.Exec(context.Background(), sql, args...); err != nil {
		s.t.Fatalf("%s: %v", sql, err)
	}
}
