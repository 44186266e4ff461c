package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"example.com/shop/internal/cache/backend"
	"example.com/shop/internal/cache/cachetest"
	"example.com/shop/internal/testdb"
	"example.com/shop/internal/testlog"
)

func testConfig(t *testing.T, vars map[string]string) config {
	t.Helper()
	for k, v := range cachetest.Relaxed() {
		if _, ok := vars[k]; !ok {
			vars[k] = v
		}
	}
	vars["SHOP_BCRYPT_COST"] = "4"
	cfg, err := loadConfig(env(vars))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestWarmOnStart: a start with a new deploy fingerprint warms the caches,
// so the first visitors of the home page, the categories and the best
// sellers get cache hits that run no SQL; the next start of the same
// deploy finds the mark and does not warm again.
func TestWarmOnStart(t *testing.T) {
	t.Parallel()
	pool, url := testdb.Seeded(t, 0.05)
	var hot int64
	if err := pool.QueryRow(t.Context(), `SELECT id FROM products WHERE active ORDER BY sold_count DESC, id DESC LIMIT 1`).Scan(&hot); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, map[string]string{"DATABASE_URL": url, "REDIS_URL": cachetest.SharedRedisURL(), "CACHE_STORE": "redis", "CACHE_PREFIX": cachetest.Prefix(t)})
	logger := testlog.New(t, slog.LevelWarn)
	ctx := context.Background()

	s, err := openShop(ctx, cfg, logger, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sum, err := warmOnStart(ctx, s, cfg, warmAuto, logger)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Pages == 0 || sum.Keys == 0 || sum.Errors != 0 {
		t.Fatalf("the first start of a deploy warmed: %s", sum)
	}
	for _, path := range []string{"/", "/api/categories", fmt.Sprintf("/products/%d", hot)} {
		rec := httptest.NewRecorder()
		s.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		// X-DB-Queries is kept in DESIGN.md's spelling, which Header.Get
		// does not find in process.
		if rec.Header()["X-Cache"][0] != "HIT" || rec.Header()["X-DB-Queries"][0] != "0" {
			t.Errorf("%s after warming: X-Cache %v, %v SQL", path, rec.Header()["X-Cache"], rec.Header()["X-DB-Queries"])
		}
	}

	again, err := openShop(ctx, cfg, logger, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if sum, err := warmOnStart(ctx, again, cfg, warmAuto, logger); err != nil || sum.Pages != 0 {
		t.Errorf("the second start of the same deploy warmed again: %s, %v", sum, err)
	}
	if sum, err := warmOnStart(ctx, again, cfg, warmAlways, logger); err != nil || sum.Pages == 0 {
		t.Errorf("--warm=always did not warm: %s, %v", sum, err)
	}
	// A deploy that changes a key version is a new fingerprint.
	bumped := cfg
	bumped.Cache.Aliases = map[string]backend.AliasConfig{}
	for n, a := range cfg.Cache.Aliases {
		bumped.Cache.Aliases[n] = a
	}
	d := bumped.Cache.Aliases["default"]
	d.Version++
	bumped.Cache.Aliases["default"] = d
	f1 := deployFingerprint(cfg.Cache)
	f2 := deployFingerprint(bumped.Cache)
	if f1 == f2 {
		t.Error("a new key version did not change the deploy fingerprint")
	}
}

func TestWarmCommand(t *testing.T) {
	t.Parallel()
	_, url := testdb.Seeded(t, 0.05)
	vars := map[string]string{"DATABASE_URL": url, "REDIS_URL": cachetest.SharedRedisURL(), "CACHE_STORE": "tiered",
		"CACHE_PREFIX": cachetest.Prefix(t), "SHOP_BCRYPT_COST": "4"}
	for k, v := range cachetest.Relaxed() {
		vars[k] = v
	}
	// The log and the progress bar share stderr, as they share a terminal.
	var out, errOut testlog.Buffer
	if err := run(context.Background(), []string{"warm", "--categories", "--concurrency", "2"}, env(vars), &out, &errOut); err != nil {
		t.Fatalf("warm: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "warmed ") || !strings.Contains(out.String(), "0 errors") || !strings.Contains(errOut.String(), "warming") {
		t.Errorf("warm said %q (progress %q)", out.String(), errOut.String())
	}
	vars["CACHE_STORE"] = "memory"
	if err := run(context.Background(), []string{"warm"}, env(vars), &out, &errOut); err == nil || !strings.Contains(err.Error(), "shop serve --warm") {
		t.Errorf("warming a memory store from another process: %v", err)
	}
}

// TestWarmUpIsNotAccessLogged: the pages a warm-up asks for are not
// access-logged (on `make run` they would push the shop's address and
// logins off the screen); one line sums the warm-up up instead. A
// visitor's request after it is logged as ever.
func TestWarmUpIsNotAccessLogged(t *testing.T) {
	t.Parallel()
	_, url := testdb.Seeded(t, 0.05)
	cfg := testConfig(t, map[string]string{"DATABASE_URL": url, "CACHE_STORE": "memory"})
	var log testlog.Buffer
	logger := slog.New(slog.NewTextHandler(&log, nil))
	s, err := openShop(t.Context(), cfg, logger, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sum, err := warmOnStart(t.Context(), s, cfg, warmAlways, logger)
	if err != nil || sum.Pages < 10 || sum.Errors != 0 {
		t.Fatalf("warm-up: %s, %v", sum, err)
	}
	warmLog := log.String()
	if n := strings.Count(warmLog, "msg=request"); n != 0 {
		t.Errorf("the warm-up's %d pages left %d access-log lines, such as\n%s", sum.Pages, n, firstLines(warmLog, 3))
	}
	if want := fmt.Sprintf("msg=\"warmed the caches\" pages=%d ", sum.Pages); strings.Count(warmLog, want) != 1 {
		t.Errorf("the log does not sum the warm-up up in one line %q:\n%s", want, firstLines(warmLog, 20))
	}

	rec := httptest.NewRecorder()
	s.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/products", nil))
	if after := strings.TrimPrefix(log.String(), warmLog); !strings.Contains(after, "msg=request method=GET path=/products status=200") {
		t.Errorf("a visitor's request after the warm-up is not access-logged:\n%s", after)
	}
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}
