package main

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"example.com/shop/internal/bench"
	"example.com/shop/internal/cache/cachetest"
	"example.com/shop/internal/testdb"
	"example.com/shop/internal/testlog"
	"github.com/jackc/pgx/v5/pgxpool"
)

// TestMain lets the test binary be the shop: with SHOP_TEST_MAIN=1 it runs
// main, so tests can start real `shop serve` processes of this very code.
func TestMain(m *testing.M) {
	if os.Getenv("SHOP_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	// The Redis client library logs to the whole process; the tests'
	// clients are their own, and say what went wrong through their errors.
	cachetest.QuietRedis()
	os.Exit(m.Run())
}

// process is a `shop serve` started by a test.
type process struct {
	cmd *exec.Cmd
	url string
}

func startShop(t *testing.T, env map[string]string, args ...string) *process {
	t.Helper()
	p, err := launchShop(t, env, args...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// launchShop is startShop for any goroutine: it returns what went wrong.
// The process is stopped when the test ends.
func launchShop(t *testing.T, env map[string]string, args ...string) (*process, error) {
	cmd := exec.Command(os.Args[0], append([]string{"serve"}, args...)...)
	cmd.Env = append(os.Environ(), "SHOP_TEST_MAIN=1", "SHOP_ADDR=127.0.0.1:0", "SHOP_BCRYPT_COST=4", "LOG_LEVEL=warn")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	// The shop's log is shown only when the test fails: a fault test's
	// shop logs the faults it was made to see.
	var stderr testlog.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGCONT) // a frozen one stops too
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("shop serve %s said on stderr:\n%s", strings.Join(args, " "), stderr.String())
		}
	})
	found := bench.ServingAddress(stdout)
	select {
	case p.url = <-found:
	case <-time.After(2 * time.Minute):
		return nil, errors.New("the shop process did not start")
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		res, err := http.Get(p.url + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		if time.Now().After(deadline) {
			return nil, errors.New("the shop process never became ready")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func get(t *testing.T, url string) (string, http.Header) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b), res.Header
}

// heard waits until the change listener of each process has handled every
// change committed so far, as its /metrics says. A process runs the rules
// of another's write again when the write's notification reaches it (the
// writer has already run them itself), which makes whatever was cached in
// between a miss: a test that needs a page to stay cached waits for that
// first.
func heard(t *testing.T, pool *pgxpool.Pool, ps ...*process) {
	t.Helper()
	var last int64
	// The change log holds committed changes only; the sequence also
	// counts numbers that rolled back, which no listener ever hears of.
	if err := pool.QueryRow(t.Context(), `SELECT coalesce(max(seq), 0) FROM shop_change_log`).Scan(&last); err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		deadline := time.Now().Add(10 * time.Second)
		for {
			at, err := changesProcessed(p.url)
			if err == nil && at >= last {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the change listener of %s is at change %d, not %d, after 10 s (%v)", p.url, at, last, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// changesProcessed is how far the change listener of the shop at base
// has got, as its /metrics says (shop_changes_processed).
func changesProcessed(base string) (int64, error) {
	res, err := http.Get(base + "/metrics")
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, "shop_changes_processed "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return int64(f), err
		}
	}
	return 0, errors.New("no shop_changes_processed in " + base + "/metrics")
}

// TestTwoProcesses: two real `shop serve` processes share one database and
// one Redis. A price changed through one is never followed by the old price
// from the other, and a price changed with SQL shows on both.
func TestTwoProcesses(t *testing.T) {
	t.Parallel()
	pool, url := testdb.Seeded(t, 0.05)
	var product int64
	if err := pool.QueryRow(t.Context(), `SELECT id FROM products WHERE active ORDER BY id LIMIT 1`).Scan(&product); err != nil {
		t.Fatal(err)
	}
	for _, store := range []string{"redis", "tiered"} {
		t.Run(store, func(t *testing.T) {
			redis := cachetest.StartRedis(t)
			env := map[string]string{
				"DATABASE_URL": url, "REDIS_URL": redis.URL(), "CACHE_STORE": store,
				"SHOP_ADMIN_TOKEN": "process-token", "CACHE_PREFIX": cachetest.Prefix(t),
			}
			for k, v := range cachetest.Relaxed() {
				env[k] = v
			}
			a, b := startShop(t, env, "--migrate=false", "--warm=never"), startShop(t, env, "--migrate=false", "--warm=never")
			path := fmt.Sprintf("/products/%d", product)
			for i := range 5 {
				heard(t, pool, a, b) // the previous round's write: B hears it too
				get(t, b.url+path)
				if _, h := get(t, b.url+path); h.Get("X-Cache") != "HIT" {
					t.Fatalf("the page is not cached on B (X-Cache %s)", h.Get("X-Cache"))
				}
				price := fmt.Sprintf("%d.%02d", 600+i, i)
				req, _ := http.NewRequest(http.MethodPatch, fmt.Sprintf("%s/api/admin/products/%d", a.url, product), strings.NewReader(`{"price":"`+price+`"}`))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer process-token")
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					t.Fatalf("price change on A: %d", res.StatusCode)
				}
				if body, _ := get(t, b.url+path); !strings.Contains(body, price) {
					t.Fatalf("round %d: B shows the old price right after A acknowledged %s", i, price)
				}
			}
			if _, err := pool.Exec(t.Context(), `UPDATE products SET price = 7654.32 WHERE id = $1`, product); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for _, p := range []*process{a, b} {
				for {
					if body, _ := get(t, p.url+path); strings.Contains(body, "7654.32") {
						break
					}
					if time.Now().After(deadline) {
						t.Fatal("a price changed with SQL never showed")
					}
					time.Sleep(10 * time.Millisecond)
				}
			}
		})
	}
}

// TestFaultInstanceRestart: an instance killed outright (SIGKILL) while a
// price changes with SQL comes back ready with its caches warm, from the
// shared store, and shows the new price: what it missed while down is
// caught up before it says ready, and its memory tier starts empty.
func TestFaultInstanceRestart(t *testing.T) {
	t.Parallel()
	pool, url := testdb.Seeded(t, 0.05)
	var product int64
	if err := pool.QueryRow(t.Context(), `SELECT id FROM products WHERE active ORDER BY sold_count DESC LIMIT 1`).Scan(&product); err != nil {
		t.Fatal(err)
	}
	var other int64 // a page the change does not touch
	if err := pool.QueryRow(t.Context(), `SELECT id FROM products WHERE active AND category_id <> (SELECT category_id FROM products WHERE id = $1)
		ORDER BY sold_count, id LIMIT 1`, product).Scan(&other); err != nil {
		t.Fatal(err)
	}
	redis := cachetest.StartRedis(t)
	env := map[string]string{"DATABASE_URL": url, "REDIS_URL": redis.URL(), "CACHE_STORE": "tiered", "CACHE_PREFIX": cachetest.Prefix(t)}
	maps.Copy(env, cachetest.Relaxed()) // timeouts fit for a busy machine: the test is about a restart
	path, otherPath := fmt.Sprintf("/products/%d", product), fmt.Sprintf("/products/%d", other)
	a := startShop(t, env, "--migrate=false", "--warm=auto")
	for _, p := range []string{path, otherPath} {
		get(t, a.url+p)
		if _, h := get(t, a.url+p); h.Get("X-Cache") != "HIT" {
			t.Fatalf("%s is not cached (X-Cache %s)", p, h.Get("X-Cache"))
		}
	}
	_ = a.cmd.Process.Kill()
	_ = a.cmd.Wait()
	if _, err := pool.Exec(t.Context(), `UPDATE products SET price = 4242.42 WHERE id = $1`, product); err != nil {
		t.Fatal(err)
	}

	b := startShop(t, env, "--migrate=false", "--warm=auto") // ready means caught up and warm
	_, warm := get(t, b.url+otherPath)
	body, h := get(t, b.url+path)
	t.Logf("restarted: an untouched page X-Cache %s; the changed product X-Cache %s", warm.Get("X-Cache"), h.Get("X-Cache"))
	if warm.Get("X-Cache") != "HIT" {
		t.Errorf("the restarted instance's untouched page is a %s: not warm", warm.Get("X-Cache"))
	}
	if !strings.Contains(body, "4242.42") {
		t.Error("the restarted instance shows the price from before the SQL change it missed while down")
	}
}
