package main

import (
	"context"
	"maps"
	"math/rand/v2"
	"sync"
	"syscall"
	"testing"
	"time"

	"example.com/shop/internal/cache/cachetest"
	"example.com/shop/internal/stalecheck"
	"example.com/shop/internal/testdb"
	"github.com/redis/go-redis/v9"
)

// listened is the change listener of a shop process, as its /metrics
// tells: a stalecheck.Progress.
type listened struct{ p *process }

func (l listened) Processed() int64 {
	n, _ := changesProcessed(l.p.url)
	return n
}

// TestDifferentialFrozenAndKilled: the differential check on `shop serve`
// processes of the tiered store, which trust the generations they keep
// under their leases with no round trip per read, while one of the two it
// compares is in turn frozen (SIGSTOP, its subscription often closed
// meanwhile) and cut off from Redis (its connections carry nothing, and
// it goes on serving), and a third instance, which holds a lease too, is
// killed (SIGKILL) and started again. Every page of each compared
// instance is the cache-off shop's after every write: a write waits for a
// frozen, cut-off or killed instance only until its lease runs out, and
// such an instance trusts nothing it kept once its lease has.
// STALECHECK_WRITES writes (100 by default; make stale-check runs more).
func TestDifferentialFrozenAndKilled(t *testing.T) {
	t.Parallel()
	writes, err := stalecheck.Writes(100)
	if err != nil {
		t.Fatal(err)
	}
	pool, url := testdb.Seeded(t, 0.2)
	server := cachetest.StartRedis(t)
	admin := redis.NewClient(&redis.Options{Addr: server.Addr})
	t.Cleanup(func() { admin.Close() })
	const token = "differential-token"
	env := map[string]string{
		"DATABASE_URL": url, "REDIS_URL": server.URL(), "SESSIONS_REDIS_URL": server.URL(), "CACHE_STORE": "tiered",
		"SHOP_ADMIN_TOKEN": token, "CACHE_PREFIX": cachetest.Prefix(t), "CACHE_CONSISTENCY_SAMPLE": "0",
	}
	maps.Copy(env, cachetest.Relaxed())
	args := []string{"--migrate=false", "--warm=never"}
	// B reaches the cache's Redis through a link the test cuts now and
	// then; its sessions, like everyone's, do not (a login that fails
	// would differ from the cache-off shop for reasons of its own).
	link := cachetest.StartLink(t, server.Addr)
	bEnv := maps.Clone(env)
	bEnv["REDIS_URL"] = "redis://" + link.Addr + "/0"
	a, b, c := startShop(t, env, args...), startShop(t, bEnv, args...), startShop(t, env, args...)
	off := maps.Clone(env)
	off["CACHE_STORE"] = "none"
	uncached := startShop(t, off, args...)

	ctx, stop := context.WithCancel(t.Context())
	var faults sync.WaitGroup
	var freezes, kills, cuts, dropped int
	var frozen, down, cutOff time.Duration
	var faultErr error
	faults.Go(func() {
		wait := func(d time.Duration) bool {
			select {
			case <-ctx.Done():
				return false
			case <-time.After(d):
				return true
			}
		}
		for round := 0; wait(500*time.Millisecond + rand.N(time.Second)); round++ {
			start := time.Now()
			if round%2 == 1 {
				// Cut off, B goes on serving: only its lapsed lease
				// keeps it from the generations it kept.
				link.Cut()
				wait(500*time.Millisecond + rand.N(1500*time.Millisecond))
				link.Restore()
				cuts++
				cutOff += time.Since(start)
				continue
			}
			if err := b.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
				faultErr = err
				return
			}
			wait(250*time.Millisecond + rand.N(time.Second))
			// Most times, the subscriptions are closed as well (every
			// instance's): what was published meanwhile is lost to B.
			if rand.N(4) > 0 {
				_ = admin.Do(ctx, "CLIENT", "KILL", "TYPE", "pubsub").Err()
				dropped++
			}
			wait(250*time.Millisecond + rand.N(1500*time.Millisecond))
			if err := b.cmd.Process.Signal(syscall.SIGCONT); err != nil {
				faultErr = err
				return
			}
			freezes++
			frozen += time.Since(start)
			if freezes%2 == 0 {
				start = time.Now()
				_ = c.cmd.Process.Kill()
				_ = c.cmd.Wait()
				if ctx.Err() != nil {
					return
				}
				next, err := launchShop(t, env, args...)
				if err != nil {
					faultErr = err
					return
				}
				c = next
				kills++
				down += time.Since(start)
			}
		}
	})
	report, err := stalecheck.Differential(t.Context(), stalecheck.DiffConfig{
		Cached: []string{a.url, b.url}, Uncached: uncached.url,
		Listeners: []stalecheck.Progress{listened{a}, listened{b}}, DB: pool,
		AdminToken: token,
		Admin:      stalecheck.Login{Email: "admin@shop.test", Password: testdb.Password},
		Customer:   stalecheck.Login{Email: "demo@shop.test", Password: testdb.Password},
		Writes:     writes, Seed: 7,
		Logf: t.Logf,
	})
	stop()
	faults.Wait() // before any Fatal: the instance is thawed
	if faultErr != nil {
		t.Fatal(faultErr)
	}
	t.Logf("froze an instance %d times (%s in all; every subscription closed meanwhile %d times), cut it off %d times (%s in all), killed and restarted another %d times (%s down in all)",
		freezes, frozen.Round(time.Millisecond), dropped, cuts, cutOff.Round(time.Millisecond), kills, down.Round(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s", report)
	if freezes < 2 || kills < 1 || cuts < 2 || dropped < 1 {
		t.Errorf("the check was over after %d freezes (%d with the subscriptions closed), %d cuts and %d kills: too few to mean anything", freezes, dropped, cuts, kills)
	}
	total := 0
	for _, n := range report.Writes {
		total += n
	}
	if total < writes*9/10 || report.Warm < 3*report.Cold {
		t.Errorf("the check did too little to mean anything: %d writes of %d, %d pages warm before a write, %d never", total, writes, report.Warm, report.Cold)
	}
	for _, d := range report.Differences {
		t.Errorf("%s", d)
	}
	if n := len(report.Differences); n > 0 {
		t.Errorf("%d differences between the cache-on instances and the cache-off shop", n)
	}
}
