package web_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"example.com/shop/internal/cache/cachetest"
	"example.com/shop/internal/changes/changestest"
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
		svc, err := web.NewServices(web.ServiceOptions{Pool: ipool, Caches: caches, BcryptCost: bcrypt.MinCost, Logger: logger})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(svc.Close)
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
		l := svc.Changes
		changestest.Run(t, l)
		s.cached = append(s.cached, base)
		s.listeners = append(s.listeners, l)
	}
	uncached, base := start("shop/test/uncached", map[string]string{"CACHE_STORE": "none"})
	changestest.Run(t, uncached.Changes)
	s.uncached = base
	return s
}

// TestDifferential: after every write, of every kind, through the shop
// and through SQL, every page the write can touch is the same on each
// cache-on instance as on a cache-off one on the same database; the parts
// whose staleness is declared keep their bound and show current products.
// STALECHECK_WRITES writes per store (300 by default; `make stale-check`
// runs 10,000, and with more than 300 also on a Redis Cluster and on
// memcached with its servers frozen and thawed).
func TestDifferential(t *testing.T) {
	t.Parallel()
	writes, err := stalecheck.Writes(300)
	if err != nil {
		t.Fatal(err)
	}
	mc := cachetest.StartMemcached(t, 3)
	redis := cachetest.SharedRedisURL()
	stores := []struct {
		name      string
		instances int
		env       map[string]string
		// setUp, for a store of the variant's own, starts its servers and
		// returns its settings and a fault to run alongside the check
		// (nil: none), which stops when its ctx is done and says what it
		// did and how many times. Such variants run only with more than
		// the default 300 writes (make stale-check), to keep make test
		// short; with 300 they are left out (the suite skips nothing).
		setUp func(t *testing.T) (env map[string]string, fault func(ctx context.Context) (string, int))
	}{
		// The memory store is per process: one instance.
		{name: "memory", instances: 1, env: map[string]string{"CACHE_STORE": "memory"}},
		{name: "redis", instances: 2, env: map[string]string{"CACHE_STORE": "redis", "REDIS_URL": redis}},
		{name: "tiered", instances: 2, env: map[string]string{"CACHE_STORE": "tiered", "REDIS_URL": redis}},
		{name: "memcached", instances: 2, env: map[string]string{"CACHE_STORE": "memcached", "MEMCACHED_SERVERS": strings.Join(cachetest.Addrs(mc), ",")}},
		// Three masters: the keys of a page and its tags' generations
		// live on different nodes.
		{name: "redis-cluster", instances: 2, setUp: func(t *testing.T) (map[string]string, func(context.Context) (string, int)) {
			return map[string]string{"CACHE_STORE": "redis", "REDIS_URL": cachetest.StartCluster(t)}, nil
		}},
		// Memcached re-shards: a frozen server is taken for down after
		// one timeout and its keys go to the others, and it comes back
		// with its old generations when thawed, on each instance at a
		// time of its own. Pages equal to the cache-off shop's throughout
		// show that no invalidation is lost across that: the generations
		// stay on a majority of the servers and never move, so a thawed
		// server's old copies lose to the others' (docs/08-invalidation.md,
		// "Stores that re-shard"). The timeout is shorter
		// than any freeze, so that each one is taken for down, and longer
		// than the default, so that a busy machine seldom takes a live
		// server for down too.
		{name: "memcached-frozen", instances: 2, setUp: func(t *testing.T) (map[string]string, func(context.Context) (string, int)) {
			servers := cachetest.StartMemcached(t, 3)
			env := map[string]string{"CACHE_STORE": "memcached", "MEMCACHED_SERVERS": strings.Join(cachetest.Addrs(servers), ","), "CACHE_TIMEOUT": "500ms"}
			return env, func(ctx context.Context) (string, int) { return freezeAndThaw(ctx, servers) }
		}},
	}
	for i, store := range stores {
		if store.setUp != nil && writes <= 300 {
			continue
		}
		t.Run(store.name, func(t *testing.T) {
			t.Parallel()
			env := store.env
			var fault func(context.Context) (string, int)
			if store.setUp != nil {
				env, fault = store.setUp(t)
			}
			shops := newDiffShops(t, store.instances, env)
			var faults sync.WaitGroup
			var did string
			var times int
			ctx, stopFault := context.WithCancel(t.Context())
			if fault != nil {
				faults.Go(func() { did, times = fault(ctx) })
			}
			report, err := stalecheck.Differential(t.Context(), stalecheck.DiffConfig{
				Cached: shops.cached, Uncached: shops.uncached, Listeners: shops.listeners, DB: shops.pool,
				AdminToken: adminToken,
				Admin:      stalecheck.Login{Email: "admin@shop.test", Password: testdb.Password},
				Customer:   stalecheck.Login{Email: "demo@shop.test", Password: testdb.Password},
				Writes:     writes, Seed: uint64(1 + i),
				Logf: t.Logf,
			})
			stopFault()
			if fault != nil {
				// Before any Fatal: the fault thaws what it froze.
				faults.Wait()
				t.Logf("%s: %s", store.name, did)
				if times == 0 {
					t.Errorf("%s: the check was over before its fault began", store.name)
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %s", store.name, report)
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

// freezeAndThaw freezes one of servers at a time, chosen at random, for
// 1 to 7 seconds (so within the 5-second down-mark and past it), with 1 to
// 3 seconds between, until ctx is done, and says what it did and how many
// times.
func freezeAndThaw(ctx context.Context, servers []*cachetest.Server) (string, int) {
	wait := func(d time.Duration) bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(d):
			return true
		}
	}
	freezes, total := 0, time.Duration(0)
	for wait(time.Second + rand.N(2*time.Second)) {
		s := servers[rand.IntN(len(servers))]
		start := time.Now()
		s.Freeze()
		wait(time.Second + rand.N(6*time.Second))
		s.Thaw()
		freezes++
		total += time.Since(start)
	}
	return fmt.Sprintf("froze a server %d times, for %s in all", freezes, total.Round(time.Second)), freezes
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
