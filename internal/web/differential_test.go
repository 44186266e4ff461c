//go:build differential

// The differential check is behind the build tag "differential" (make
// differential) until the cache bugs of issue 13 that it finds are fixed:
// it fails on them today, and the suite has no skipped tests. Once they
// are fixed the tag goes, and `make test` runs it.

package web_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"example.com/shop/internal/cache/cachetest"
	"example.com/shop/internal/changes"
	"example.com/shop/internal/db"
	"example.com/shop/internal/stalecheck"
	"example.com/shop/internal/testdb"
	"example.com/shop/internal/testlog"
	"example.com/shop/internal/web"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/bcrypt"
)

// diffShops are the shops the differential check compares: cache-on
// instances on one store, each with its change listener, and one cache-off
// instance, all on one database and one session store.
type diffShops struct {
	pool      *pgxpool.Pool // the test's own connections: an outsider to every instance
	cached    []string
	listeners []stalecheck.Progress
	uncached  string
}

// newDiffShops starts n cache-on instances with the cache settings of env
// and one with CACHE_STORE=none. Sessions live in the shared Redis under
// one prefix for all of them (SESSIONS_REDIS_URL: the cache-off and the
// memory and memcached stores would otherwise keep them in process), so a
// customer's cookie works on each.
func newDiffShops(t *testing.T, n int, env map[string]string) *diffShops {
	t.Helper()
	pool, url := testdb.Seeded(t, 0.2)
	prefix := cachetest.Prefix(t)
	s := &diffShops{pool: pool}
	start := func(origin string, env map[string]string) (*web.Services, string) {
		u, err := db.WithApplicationName(url, origin)
		if err != nil {
			t.Fatal(err)
		}
		ipool, err := db.Open(t.Context(), u)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(ipool.Close)
		settings := map[string]string{"CACHE_PREFIX": prefix, "SESSIONS_REDIS_URL": cachetest.SharedRedisURL()}
		for k, v := range env {
			settings[k] = v
		}
		caches := cachetest.Caches(t, settings)
		// Warn and up: the access lines of thousands of requests would
		// bury a failure.
		logger := testlog.New(t, slog.LevelWarn)
		svc, err := web.NewServices(ipool, caches, bcrypt.MinCost, logger)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(svc.Accounts.Close)
		h, err := web.New(web.Config{AdminToken: adminToken}, svc, logger)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return &svc, srv.URL
	}
	for i := range n {
		origin := fmt.Sprintf("shop/test/%d", i)
		svc, base := start(origin, env)
		l := changes.NewListener(url, origin, svc.Events, svc.Caches.Tags.Store(), prefix, testlog.New(t, slog.LevelWarn))
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		go l.Run(ctx)
		select {
		case <-l.Ready():
		case <-time.After(10 * time.Second):
			t.Fatal("the change listener did not start")
		}
		s.cached = append(s.cached, base)
		s.listeners = append(s.listeners, l)
	}
	_, s.uncached = start("shop/test/uncached", map[string]string{"CACHE_STORE": "none"})
	return s
}

// TestDifferential: after every write, of every kind, through the shop
// and through SQL, every page the write can touch is the same on each
// cache-on instance as on a cache-off one on the same database; the parts
// whose staleness is declared keep their bound and show current products.
// STALECHECK_WRITES writes per store (300 by default; `make stale-check`
// runs 10,000).
func TestDifferential(t *testing.T) {
	t.Parallel()
	writes := 300
	if v := os.Getenv("STALECHECK_WRITES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("STALECHECK_WRITES: %q is not a positive number", v)
		}
		writes = n
	}
	mc := cachetest.StartMemcached(t, 3)
	redis := cachetest.SharedRedisURL()
	stores := []struct {
		name      string
		instances int
		env       map[string]string
	}{
		// The memory store is per process: one instance.
		{"memory", 1, map[string]string{"CACHE_STORE": "memory"}},
		{"redis", 2, map[string]string{"CACHE_STORE": "redis", "REDIS_URL": redis}},
		{"tiered", 2, map[string]string{"CACHE_STORE": "tiered", "REDIS_URL": redis}},
		{"memcached", 2, map[string]string{"CACHE_STORE": "memcached", "MEMCACHED_SERVERS": strings.Join(cachetest.Addrs(mc), ",")}},
	}
	for i, store := range stores {
		t.Run(store.name, func(t *testing.T) {
			t.Parallel()
			shops := newDiffShops(t, store.instances, store.env)
			report, err := stalecheck.Differential(t.Context(), stalecheck.DiffConfig{
				Cached: shops.cached, Uncached: shops.uncached, Listeners: shops.listeners, DB: shops.pool,
				AdminToken: adminToken,
				Admin:      stalecheck.Login{Email: "admin@shop.test", Password: testdb.Password},
				Customer:   stalecheck.Login{Email: "demo@shop.test", Password: testdb.Password},
				Writes:     writes, Seed: uint64(1 + i),
				Logf: t.Logf,
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Log(report)
			t.Logf("writes by kind: %s", counts(report.Writes))
			if len(report.Refused) > 0 {
				t.Logf("refused by the shop: %s", counts(report.Refused))
			}
			// The check proves something only when it wrote every kind
			// and found the pages cached before it did.
			total, kinds := 0, map[string]bool{}
			for k, n := range report.Writes {
				total += n
				kinds[strings.Split(k, "/")[0]] = true
			}
			for k := range report.Refused {
				kinds[strings.Split(k, "/")[0]] = true
			}
			if total < writes*9/10 || len(kinds) < len(stalecheck.Kinds()) || report.SQLWaits == 0 {
				t.Errorf("the check did too little to mean anything: %d writes acknowledged of %d, %d kinds of %d (%v), %d by SQL",
					total, writes, len(kinds), len(stalecheck.Kinds()), stalecheck.Kinds(), report.SQLWaits)
			}
			if report.Warm < 3*report.Cold {
				t.Errorf("only %d pages were served from the cache before a write, %d never were: the writes had little to invalidate", report.Warm, report.Cold)
			}
			if dir := os.Getenv("STALECHECK_REPORT"); dir != "" {
				writeDifferences(t, filepath.Join(dir, "differential-"+store.name+".txt"), report)
			}
			if len(report.Differences) == 0 {
				return
			}
			// Every difference is in the report; the failure lists them
			// by cause, with the first of each in full.
			shown := map[string]bool{}
			var first []string
			for _, d := range report.Differences {
				g := d.Kind + " on " + stalecheck.PageKind(d.Page)
				if d.Since == "" && !shown[g] {
					shown[g] = true
					first = append(first, d.String())
				}
			}
			t.Errorf("%d differences between the cache-on and the cache-off shop (%d of them pages left as an earlier write made them); the new ones by the write that made them and the page:\n\t%s\nthe first of each:\n%s",
				len(report.Differences), len(report.Differences)-len(newDifferences(report)), strings.Join(report.Groups(), "\n\t"), strings.Join(first, "\n"))
		})
	}
}

// counts shows a count by name, sorted by name.
func counts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		keys[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(keys, ", ")
}

// newDifferences returns the differences a write made, leaving out the pages
// still as an earlier write left them.
func newDifferences(r stalecheck.DiffReport) []stalecheck.Difference {
	var out []stalecheck.Difference
	for _, d := range r.Differences {
		if d.Since == "" {
			out = append(out, d)
		}
	}
	return out
}

// writeDifferences writes every difference of a report to path, for a
// run whose failure lists only the first of each kind
// (STALECHECK_REPORT=dir).
func writeDifferences(t *testing.T, path string, r stalecheck.DiffReport) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", r)
	for _, d := range r.Differences {
		fmt.Fprintf(&b, "%s\n\n", d)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Error(err)
	}
}
