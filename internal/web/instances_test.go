package web_test

import (
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"example.com/shop/internal/cache/cachetest"
	"example.com/shop/internal/changes"
	"example.com/shop/internal/changes/changestest"
	"example.com/shop/internal/db"
	"example.com/shop/internal/stalecheck"
	"example.com/shop/internal/testdb"
	"example.com/shop/internal/testlog"
	"example.com/shop/internal/web"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/bcrypt"
)

// cluster is several instances of the shop on one database and one cache,
// each with its own pool (and so its own origin for change notifications),
// its own cache clients and memory tier, and its own change listener: what
// several `shop serve` processes are, in one test process.
type cluster struct {
	t         *testing.T
	pool      *pgxpool.Pool // for the test's own SQL: an outsider to every instance
	url       string
	instances []*testShop
	listeners []*changes.Listener
}

func newCluster(t *testing.T, n int, env map[string]string) *cluster {
	t.Helper()
	pool, url := testdb.Seeded(t, 0.2)
	env["CACHE_PREFIX"] = cachetest.Prefix(t) // shared by the instances
	cl := &cluster{t: t, pool: pool, url: url}
	for i := range n {
		origin := fmt.Sprintf("shop/test/%d", i)
		u, err := db.WithApplicationName(url, origin)
		if err != nil {
			t.Fatal(err)
		}
		ipool, err := db.Open(t.Context(), u)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(ipool.Close)
		caches := cachetest.Caches(t, env)
		logger := testlog.New(t, slog.LevelInfo)
		svc, err := web.NewServices(web.ServiceOptions{Pool: ipool, Caches: caches, BcryptCost: bcrypt.MinCost, Logger: logger})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(svc.Close)
		h, err := web.New(web.Config{AdminToken: adminToken}, svc, logger)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewUnstartedServer(h)
		srv.Config.ErrorLog = slog.NewLogLogger(logger.Handler(), slog.LevelWarn) // as shop serve does
		srv.Start()
		t.Cleanup(srv.Close)
		l := svc.Changes
		changestest.Run(t, l)
		cl.instances = append(cl.instances, &testShop{t: t, pool: ipool, url: srv.URL, caches: caches})
		cl.listeners = append(cl.listeners, l)
	}
	return cl
}

// heard waits until every instance's change listener has handled every
// change committed so far. An instance runs the rules of another's write
// again when the write's notification reaches it (the writer has already
// run them itself), which makes whatever it cached in between a miss: a
// test that needs a page to stay cached waits for that first.
func (cl *cluster) heard() {
	cl.t.Helper()
	var last int64
	// The change log holds committed changes only; the sequence also
	// counts numbers that rolled back, which no listener ever hears of.
	if err := cl.pool.QueryRow(cl.t.Context(), `SELECT coalesce(max(seq), 0) FROM shop_change_log`).Scan(&last); err != nil {
		cl.t.Fatal(err)
	}
	for i, l := range cl.listeners {
		waitFor(cl.t, 10*time.Second, func() bool { return l.Processed() >= last },
			"instance %d's change listener has not heard change %d", i, last)
	}
}

func (cl *cluster) urls() []string {
	var out []string
	for _, s := range cl.instances {
		out = append(out, s.url)
	}
	return out
}

var sharedStores = []map[string]string{
	{"CACHE_STORE": "redis", "REDIS_URL": cachetest.SharedRedisURL()},
	{"CACHE_STORE": "tiered", "REDIS_URL": cachetest.SharedRedisURL()},
}

// TestWriteOnOneInstanceShowsOnTheOther: a price changed through one
// instance is never followed by the old price from another, whose page
// cache, fragments, queries (and memory tier) held it.
func TestWriteOnOneInstanceShowsOnTheOther(t *testing.T) {
	t.Parallel()
	for _, env := range sharedStores {
		t.Run(env["CACHE_STORE"], func(t *testing.T) {
			t.Parallel()
			cl := newCluster(t, 2, env)
			a, b := cl.instances[0], cl.instances[1]
			product := cl.instances[0].scalar(`SELECT id FROM products WHERE active AND featured ORDER BY id LIMIT 1`)
			pages := []string{fmt.Sprintf("/products/%d", product), fmt.Sprintf("/api/products/%d", product), "/"}
			admin := a.client()
			reader := b.client()
			for i := range 10 {
				// The previous round's write is heard by B's listener too,
				// at a time of its own: B's pages are cached once that
				// has passed, so that this round's write is what makes
				// them miss.
				cl.heard()
				for _, p := range pages {
					reader.get(p)
					if r := reader.get(p); r.header.Get("X-Cache") != "HIT" {
						t.Fatalf("%s on B is not cached (X-Cache %s)", p, r.header.Get("X-Cache"))
					}
				}
				price := fmt.Sprintf("%d.%02d", 500+i, i)
				if r := admin.json("PATCH", fmt.Sprintf("/api/admin/products/%d", product), `{"price":"`+price+`"}`,
					"Authorization", "Bearer "+adminToken); r.status != 200 {
					t.Fatalf("price change on A: %d", r.status)
				}
				for _, p := range pages {
					if r := reader.get(p); !strings.Contains(r.body, price) {
						t.Fatalf("round %d: %s on B does not show %s right after A acknowledged it (X-Cache %s)", i, p, price, r.header.Get("X-Cache"))
					}
				}
			}
		})
	}
}

// TestWritesFromSQL: a price changed with psql shows on every instance,
// without a restart, within changes.ExternalBound.
func TestWritesFromSQL(t *testing.T) {
	t.Parallel()
	for _, env := range append(sharedStores, map[string]string{"CACHE_STORE": "memory"}) {
		t.Run(env["CACHE_STORE"], func(t *testing.T) {
			t.Parallel()
			cl := newCluster(t, 2, env)
			product := cl.instances[0].scalar(`SELECT id FROM products WHERE active ORDER BY id LIMIT 1`)
			path := fmt.Sprintf("/products/%d", product)
			var worst time.Duration
			for i := range 5 {
				for _, s := range cl.instances {
					s.client().get(path)
				}
				price := fmt.Sprintf("%d.%02d", 900+i, i)
				if _, err := cl.pool.Exec(t.Context(), `UPDATE products SET price = $1 WHERE id = $2`, price, product); err != nil {
					t.Fatal(err)
				}
				committed := time.Now()
				for n, s := range cl.instances {
					for {
						if r := s.client().get(path); strings.Contains(r.body, price) {
							break
						}
						if time.Since(committed) > 10*changes.ExternalBound {
							t.Fatalf("instance %d still shows the old price %s after the commit", n, time.Since(committed))
						}
						time.Sleep(5 * time.Millisecond)
					}
				}
				worst = max(worst, time.Since(committed))
			}
			if worst > changes.ExternalBound {
				t.Errorf("a write from SQL took %s to show, over the %s bound", worst, changes.ExternalBound)
			}
		})
	}
}

// TestListenerCatchesUp: writes made while an instance was not listening
// (its connection lost, or before it started) are not missed: the listener
// sees the change sequence ahead of what was processed and invalidates
// everything.
func TestListenerCatchesUp(t *testing.T) {
	t.Parallel()
	cl := newCluster(t, 1, map[string]string{"CACHE_STORE": "memory"})
	s := cl.instances[0]
	product := s.scalar(`SELECT id FROM products WHERE active ORDER BY id LIMIT 1`)
	path := fmt.Sprintf("/products/%d", product)
	s.client().get(path)

	// A listener started after a write: the first one of this instance is
	// replaced by one that was not listening while the price changed.
	if _, err := cl.pool.Exec(t.Context(), `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE application_name = 'shop-listener' AND datname = current_database()`); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.pool.Exec(t.Context(), `UPDATE products SET price = 4321.00 WHERE id = $1`, product); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		if r := s.client().get(path); strings.Contains(r.body, "4321.00") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the write made while the listener was disconnected never showed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// And the reconnected listener hears later writes.
	if _, err := cl.pool.Exec(t.Context(), `UPDATE products SET price = 1234.00 WHERE id = $1`, product); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(15 * time.Second)
	for !strings.Contains(s.client().get(path).body, "1234.00") {
		if time.Now().After(deadline) {
			t.Fatal("the reconnected listener does not hear writes")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestStaleReadChecker runs the checker against two instances: writes
// through the shop and through SQL, reads of every kind of page from both,
// zero stale reads. It runs for STALECHECK_DURATION (4s by default; `make
// stale-check` runs it for a minute).
func TestStaleReadChecker(t *testing.T) {
	t.Parallel()
	duration := 4 * time.Second
	if v := os.Getenv("STALECHECK_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("STALECHECK_DURATION: %v", err)
		}
		duration = d
	}
	for _, env := range sharedStores {
		t.Run(env["CACHE_STORE"], func(t *testing.T) {
			t.Parallel()
			cl := newCluster(t, 2, env)
			report, err := stalecheck.Run(t.Context(), stalecheck.Config{
				Instances: cl.urls(), DB: cl.pool, AdminToken: adminToken,
				CustomerEmail: "demo@shop.test", CustomerPassword: testdb.Password,
				Duration: duration, Writers: 2, Readers: 4, SQLShare: 0.3, Seed: 1,
				MinReads: 50, MinWrites: 10,
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Log(report)
			if report.Reads < 50 || report.Writes < 10 || report.SQLWrites == 0 || report.Checked < report.Reads {
				t.Errorf("the check did too little to mean anything: %s", report)
			}
			for _, v := range report.Violations {
				t.Errorf("stale read: %s", v)
			}
		})
	}
}
