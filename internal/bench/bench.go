// Package bench is the benchmark that shopbench (and `shop bench`) runs:
// it measures what each cache layer buys by running the shop as separate
// processes, cache off and cache on, under the same open-model load on
// the same machine, in one run.
//
// Small shared machines are noisy, so every headline is a ratio of two
// figures measured in the same run: capacities found one after the other,
// and fixed-load phases interleaved (off, on, off, on, …) so that drift
// falls on both sides. A calibration against the shop's constant response
// says what the machine itself allows.
package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"example.com/shop/internal/db"
	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
)

// Options say what to measure and where.
type Options struct {
	// Command runs the shop: the binary and any arguments before "serve".
	Command []string
	// DatabaseURL names the PostgreSQL server; the benchmark makes its own
	// databases there and leaves the named one alone.
	DatabaseURL string
	// RedisServer is the redis-server binary the benchmark starts for the
	// Redis configurations; empty looks for it on PATH. RedisURL is used
	// when there is none; without either, those configurations are left
	// out of the run.
	RedisServer, RedisURL string

	Scale float64
	Seed  int64
	Quick bool
	// Configs limits the run to configurations by name (off, memory,
	// redis, tiered, no-page, …); empty runs the plan's.
	Configs []string
	SLO     time.Duration // p99 bound of a sustained rate (default 50 ms)
	Profile bool          // save CPU profiles of the cache-on shop

	Out      string    // directory of the results
	Progress io.Writer // progress lines
	Now      time.Time // the run's date; zero: now
}

// plan is how long and how much a run measures.
type plan struct {
	step, warmup, phase, coldStart, settle time.Duration
	rounds, bisect                         int
	startRate, maxRate                     float64
	configs, compared, ablations           []Config
	// sample is the share of cache hits the consistency sampler checks
	// (CACHE_CONSISTENCY_SAMPLE); empty, the shop's default.
	sample string
}

func newPlan(o Options) plan {
	p := plan{
		step: 4 * time.Second, warmup: 4 * time.Second, phase: 10 * time.Second, coldStart: 10 * time.Second,
		settle: 1200 * time.Millisecond, rounds: 3, bisect: 3, startRate: 100, maxRate: 60_000,
		configs: append([]Config{Off()}, Stores()...), compared: Stores(), ablations: Ablations(),
	}
	if o.Quick {
		p.step, p.warmup, p.phase, p.coldStart, p.settle = 1500*time.Millisecond, 1500*time.Millisecond, 3*time.Second, 6*time.Second, 400*time.Millisecond
		p.rounds, p.bisect = 2, 1
		p.startRate = 200
		p.configs, p.compared, p.ablations = []Config{Off(), Memory()}, []Config{Memory()}, nil
		// A short run has few hits: at the default 0.1% the sampler
		// would check none.
		p.sample = "0.02"
	}
	if len(o.Configs) > 0 {
		keep := func(cs []Config) []Config {
			return slices.DeleteFunc(slices.Clone(cs), func(c Config) bool { return !slices.Contains(o.Configs, c.Name) })
		}
		p.configs = keep(append([]Config{Off()}, Stores()...))
		p.compared = keep(Stores())
		p.ablations = keep(Ablations())
		if !slices.Contains(o.Configs, Off().Name) {
			p.configs = append([]Config{Off()}, p.configs...) // every ratio is against off
		}
	}
	return p
}

// runner is one run of the benchmark.
type runner struct {
	opts        Options
	plan        plan
	report      *Report
	start       time.Time
	databaseURL string
	pool        *pgxpool.Pool
	pgStatement bool // pg_stat_statements is there to read
	redisURL    string
	redisPID    int
	redis       *redis.Client
	prefix      string
	adminToken  string
	cat         *Catalog
	prices      *Prices
	seq         int64 // phases so far: each draws its own requests
	// written are the products whose price or stock a phase changed
	// since the last audit.
	written map[int64]bool
	// writes are the latencies of the acknowledged price changes, by
	// configuration.
	writes map[string]*hdrhistogram.Histogram
}

// Run runs the benchmark and writes its report into opts.Out.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if opts.SLO <= 0 {
		opts.SLO = 50 * time.Millisecond
	}
	if opts.Scale <= 0 {
		opts.Scale = 1
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	if len(opts.Command) == 0 {
		return nil, errors.New("bench: no command runs the shop")
	}
	r := &runner{opts: opts, plan: newPlan(opts), start: time.Now(), prefix: "bench" + token(4), adminToken: token(16)}
	r.report = &Report{
		Date: opts.Now.UTC(), Machine: machine(), Scale: opts.Scale, Seed: opts.Seed, Quick: opts.Quick, SLO: Duration(opts.SLO),
	}
	if err := r.run(ctx); err != nil {
		return r.report, err
	}
	r.report.Took = Duration(time.Since(r.start).Round(time.Second))
	evaluate(r.report)
	paths, err := write(r.report, opts.Out)
	if err != nil {
		return r.report, err
	}
	r.say("report: %s", strings.Join(paths, ", "))
	return r.report, nil
}

func token(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// say writes a progress line with the time since the start.
func (r *runner) say(format string, args ...any) {
	d := time.Since(r.start).Round(time.Second)
	fmt.Fprintf(r.opts.Progress, "[%02d:%02d] %s\n", int(d.Minutes()), int(d.Seconds())%60, fmt.Sprintf(format, args...))
}

func (r *runner) run(ctx context.Context) error {
	url, drop, err := dataset(ctx, r.opts.DatabaseURL, r.opts.Scale, r.opts.Seed, r.opts.Progress)
	if err != nil {
		return err
	}
	defer drop()
	r.databaseURL = url
	if r.pool, err = db.Open(ctx, url); err != nil {
		return err
	}
	defer r.pool.Close()
	if err := r.pool.QueryRow(ctx, `SHOW server_version`).Scan(&r.report.Postgres); err != nil {
		return err
	}
	_, err = r.pool.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS pg_stat_statements`)
	r.pgStatement = err == nil && r.pool.QueryRow(ctx, `SELECT 1 FROM pg_stat_statements LIMIT 1`).Scan(new(int)) == nil
	if !r.pgStatement {
		r.note("pg_stat_statements is not loaded in this PostgreSQL (shared_preload_libraries), so statements are counted by the shop's own tracer, cross-checked with pg_stat_database's transaction count.")
	}
	cat, current, err := loadCatalog(ctx, r.pool)
	if err != nil {
		return err
	}
	cat.AdminToken = r.adminToken
	r.cat, r.prices = cat, NewPrices(current)
	r.report.Products = len(cat.ProductIDs)

	stopRedis, err := r.startRedis(ctx)
	if err != nil {
		return err
	}
	defer stopRedis()

	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"calibration", r.calibrate},
		{"capacities", r.capacities},
		{"comparisons", r.comparisons},
		{"cold start", r.coldStart},
	}
	for i, s := range steps {
		r.say("step %d of %d: %s", i+1, len(steps), s.name)
		if err := s.fn(ctx); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return nil
}

func (r *runner) note(format string, args ...any) {
	r.report.Notes = append(r.report.Notes, fmt.Sprintf(format, args...))
}

// withShop starts configuration c, logs the customers in, brings it to
// its steady state (see crawl) unless cold, and runs fn; then stops it.
func (r *runner) withShop(ctx context.Context, c Config, cold bool, fn func(*shop, []string) error) error {
	if c.Redis && r.redisURL == "" {
		return nil
	}
	c.Env = mergeEnv(c.Env, map[string]string{"CACHE_PREFIX": r.prefix + "-" + c.Name})
	s, err := r.startShop(ctx, c)
	if err != nil {
		return err
	}
	defer s.stop()
	sessions, err := r.login(ctx, s)
	if err != nil {
		return err
	}
	if !cold {
		if err := r.crawl(ctx, s); err != nil {
			return err
		}
	}
	return fn(s, sessions)
}

// warmUp runs mix against s for a little while, unmeasured, so that a
// measurement starts from the state the mix itself keeps the shop in.
func (r *runner) warmUp(ctx context.Context, s *shop, sessions []string, mix Mix, rate float64) error {
	_, err := r.phase(ctx, s, sessions, mix, rate, r.plan.warmup, time.Second)
	return err
}

// crawl visits once every page the load asks for, as the visitors of a
// shop open for a while have: the benchmark measures the steady state,
// and the cold start on its own. Both sides of a comparison are crawled,
// and each instance of a side.
func (r *runner) crawl(ctx context.Context, s *shop) error {
	for _, in := range s.instances() {
		if err := r.crawlOne(ctx, in); err != nil {
			return err
		}
	}
	return nil
}

func (r *runner) crawlOne(ctx context.Context, s *shop) error {
	paths := []string{"/"}
	for i, slug := range r.cat.Categories {
		for _, sort := range sorts {
			for page := 1; page <= min(r.cat.Pages[i], len(pageWeights)); page++ {
				paths = append(paths, listPath(slug, sort, page))
			}
		}
	}
	for _, id := range r.cat.ProductIDs[:min(len(r.cat.ProductIDs), 5000)] {
		paths = append(paths, fmt.Sprintf("/products/%d", id), fmt.Sprintf("/api/products/%d", id))
	}
	work := make(chan string)
	var mu sync.Mutex
	var failed []string
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for path := range work {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.url+path, nil)
				res, err := metricsClient.Do(req)
				if err == nil {
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != http.StatusOK {
						err = errors.New(res.Status)
					}
				}
				if err != nil && ctx.Err() == nil {
					mu.Lock()
					failed = append(failed, path+": "+err.Error())
					mu.Unlock()
				}
			}
		})
	}
	for _, p := range paths {
		work <- p
	}
	close(work)
	wg.Wait()
	if len(failed) > 0 {
		return fmt.Errorf("crawling %s: %d of %d pages failed, first %s", s.config.Name, len(failed), len(paths), failed[0])
	}
	return ctx.Err()
}

func mergeEnv(a, b map[string]string) map[string]string {
	m := map[string]string{}
	for k, v := range a {
		m[k] = v
	}
	for k, v := range b {
		m[k] = v
	}
	return m
}

// login logs the dataset's customers in to s and returns their cookies.
func (r *runner) login(ctx context.Context, s *shop) ([]string, error) {
	var sessions []string
	for _, email := range r.cat.customers {
		cookie, err := s.login(ctx, email, customerPassword)
		if err != nil {
			return nil, err
		}
		sessions = append(sessions, cookie)
	}
	return sessions, nil
}

// snapshot is everything counted, at one moment.
type snapshot struct {
	at                       time.Time
	shop                     counters
	shopCPU, pgCPU, redisCPU cpuSample
	redisCommands            float64
	pgXacts, pgStatements    float64
}

func (r *runner) snapshot(ctx context.Context, s *shop) (snapshot, error) {
	var err error
	n := snapshot{at: time.Now()}
	if n.shop, err = s.counters(ctx); err != nil {
		return n, err
	}
	n.shopCPU = sampleCPU(s.pids())
	n.pgCPU = sampleCPU(pidsNamed("postgres"))
	if r.redisPID != 0 {
		n.redisCPU = sampleCPU([]int{r.redisPID})
	}
	if r.redis != nil {
		n.redisCommands = redisCommands(ctx, r.redis)
	}
	err = r.pool.QueryRow(ctx, `SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()`).Scan(&n.pgXacts)
	if err != nil {
		return n, fmt.Errorf("read pg_stat_database: %w", err)
	}
	if r.pgStatement {
		_ = r.pool.QueryRow(ctx, `SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&n.pgStatements)
	}
	return n, nil
}

// phase runs mix against s at rate for dur and measures it.
func (r *runner) phase(ctx context.Context, s *shop, sessions []string, mix Mix, rate float64, dur, behind time.Duration) (Phase, error) {
	before, err := r.snapshot(ctx, s)
	if err != nil {
		return Phase{}, err
	}
	r.seq++
	gen := NewGenerator(mix, r.cat, sessions, r.prices, r.opts.Seed*1_000_003+r.seq)
	l := attack(ctx, s.urls(), gen, r.cat, r.prices, rate, dur, behind)
	if err := ctx.Err(); err != nil {
		return Phase{}, err
	}
	// PostgreSQL publishes a backend's counts within a second of its
	// last transaction; the shop settles its queues meanwhile.
	time.Sleep(r.plan.settle)
	after, err := r.snapshot(ctx, s)
	if err != nil {
		return Phase{}, err
	}
	stale := l.stale(r.prices)
	r.report.StaleReads += stale
	r.report.PriceReads += len(l.reads)
	r.report.PriceWrites += l.changes

	p := Phase{
		Config: s.config.Name, Mix: mix.Name, Offered: rate, Seconds: l.elapsed.Seconds(),
		Requests: l.requests, Errors: l.errors, Stopped: l.stopped, Kinds: l.kinds, Samples: l.samples,
		PriceChanges: l.changes, PriceReads: len(l.reads), StaleReads: stale,
		ShopRSSMB: float64(rssOf(s.pids())) / (1 << 20), HitRates: map[string]float64{}, SQLByKind: map[Kind]float64{},
		PageHitsByKind: map[Kind]float64{}, writes: l.writes,
	}
	if r.written == nil {
		r.written = map[int64]bool{}
	}
	for id := range l.written {
		r.written[id] = true
	}
	for k, n := range l.kinds {
		p.SQLByKind[k] = math.Round(1000*float64(l.sql[k])/float64(n)) / 1000
		p.PageHitsByKind[k] = math.Round(1000*float64(l.hits[k])/float64(n)) / 1000
	}
	if l.elapsed > 0 {
		p.Achieved = float64(l.requests) / l.elapsed.Seconds()
	}
	p.Latency = latencyOf(l.latency)
	p.Pass = !p.Stopped && p.Latency.P99 <= float64(r.opts.SLO.Microseconds())/1000 && p.ErrorRate() < 0.001 && p.Achieved >= 0.98*rate

	d := after.shop.sub(before.shop)
	if req := d.Requests; req > 0 {
		per := func(v float64) float64 { return v / req }
		p.SQLPerRequest = per(d.Statements)
		p.PGXactsPerReq = per(after.pgXacts - before.pgXacts)
		if r.pgStatement {
			v := per(after.pgStatements - before.pgStatements)
			p.PGStmtsPerReq = &v
		}
		if s.config.Redis && r.redis != nil {
			v := per(after.redisCommands - before.redisCommands - 1) // less the INFO that read it
			p.RedisPerRequest = &v
		}
		cpu := func(a, b cpuSample) float64 { return per(float64(a.since(b).Microseconds()) / 1000) }
		p.CPU = CPU{Shop: cpu(after.shopCPU, before.shopCPU), Postgres: cpu(after.pgCPU, before.pgCPU)}
		if s.config.Redis {
			p.CPU.Redis = cpu(after.redisCPU, before.redisCPU)
		}
	}
	for layer := range d.Cache {
		if h := d.hitRate(layer); h >= 0 {
			p.HitRates[layer] = h
		}
	}
	p.Consistency = d.consistency()
	r.report.Consistency.add(p.Consistency)
	return p, nil
}

// rssOf is the resident memory of the processes together.
func rssOf(pids []int) int64 {
	var n int64
	for _, pid := range pids {
		n += rss(pid)
	}
	return n
}

// addWrites adds a comparison phase's price changes to its
// configuration's: at a rate both sides sustain, what a write costs, not
// how a shop past its capacity queues.
func (r *runner) addWrites(config string, h *hdrhistogram.Histogram) {
	if h.TotalCount() == 0 {
		return
	}
	if r.writes == nil {
		r.writes, r.report.PriceChanges = map[string]*hdrhistogram.Histogram{}, map[string]WriteLatency{}
	}
	all := r.writes[config]
	if all == nil {
		all = hdrhistogram.New(1, 60_000_000, 3)
		r.writes[config] = all
	}
	all.Merge(h)
	r.report.PriceChanges[config] = WriteLatency{Writes: int(all.TotalCount()), Latency: latencyOf(all)}
}

// latencyOf is the distribution of a histogram of microseconds.
func latencyOf(h *hdrhistogram.Histogram) Latency {
	ms := func(q float64) float64 { return float64(h.ValueAtQuantile(q)) / 1000 }
	return Latency{P50: ms(50), P90: ms(90), P99: ms(99), P999: ms(99.9), Max: float64(h.Max()) / 1000}
}

func (r *runner) describe(p Phase) string {
	verdict := "ok"
	if !p.Pass {
		verdict = "over"
	}
	s := fmt.Sprintf("%s/%s %6.0f/s: achieved %6.0f/s, p50 %.1f ms, p99 %.1f ms, %d errors, %.3f SQL/req, %s",
		p.Config, p.Mix, p.Offered, p.Achieved, p.Latency.P50, p.Latency.P99, p.Errors, p.SQLPerRequest, verdict)
	if p.Stopped {
		s += " (stopped: fell behind)"
	}
	return s
}

// capacity finds the highest rate at which s meets the SLO: doubling from
// the start rate until a step fails (halving when the first fails), then
// bisecting between the last pass and the first failure.
func (r *runner) capacity(ctx context.Context, s *shop, sessions []string, mix Mix) (Capacity, error) {
	c := Capacity{Config: s.config.Name, Mix: mix.Name}
	step := func(rate float64) (bool, error) {
		for try := 0; ; try++ {
			p, err := r.phase(ctx, s, sessions, mix, rate, r.plan.step, time.Second)
			if err != nil {
				return false, err
			}
			c.Steps = append(c.Steps, p)
			r.say("  %s", r.describe(p))
			if p.Pass && rate > c.Rate {
				c.Rate, c.At = rate, &c.Steps[len(c.Steps)-1]
			}
			// A machine this small has hiccups: a step that failed
			// narrowly, without errors or falling behind, is tried
			// once more before it counts.
			narrow := !p.Stopped && p.Errors == 0 && p.Latency.P99 < 4*float64(r.opts.SLO.Microseconds())/1000
			if p.Pass || !narrow || try == 1 {
				return p.Pass, nil
			}
		}
	}
	if err := r.warmUp(ctx, s, sessions, mix, r.plan.startRate); err != nil {
		return c, err
	}
	lo, hi := 0.0, math.Inf(1)
	rate := r.plan.startRate
	for rate <= r.plan.maxRate && rate >= 5 {
		pass, err := step(rate)
		if err != nil {
			return c, err
		}
		if pass {
			lo = rate
			if !math.IsInf(hi, 1) {
				break
			}
			rate *= 2
		} else {
			hi = rate
			if lo > 0 {
				break
			}
			rate /= 2
		}
	}
	for i := 0; i < r.plan.bisect && lo > 0 && !math.IsInf(hi, 1); i++ {
		mid := math.Round((lo + hi) / 2)
		pass, err := step(mid)
		if err != nil {
			return c, err
		}
		if pass {
			lo = mid
		} else {
			hi = mid
		}
	}
	if c.At != nil {
		at := *c.At // the steps slice may have grown since
		c.At = &at
	}
	return c, nil
}

// calibrate measures the constant response and a page-cache hit of the
// same shop: the most this machine serves, load generator included.
func (r *runner) calibrate(ctx context.Context) error {
	// A shop that only ever served this page: nothing invalidates it.
	return r.withShop(ctx, Memory(), true, func(s *shop, sessions []string) error {
		for _, mix := range []Mix{Calibration(), PageHit()} {
			c, err := r.capacity(ctx, s, sessions, mix)
			if err != nil {
				return err
			}
			r.report.Calibration = append(r.report.Calibration, c)
		}
		// The page is a hit by now: the page-hit mix has just served it.
		sat, err := r.saturate(ctx, s, hotPage)
		r.report.Saturation = sat
		return err
	})
}

// capacities finds each configuration's capacity: both mixes for the
// stores, browsing for the ablations.
func (r *runner) capacities(ctx context.Context) error {
	type job struct {
		c     Config
		mixes []Mix
	}
	var jobs []job
	for _, c := range r.plan.configs {
		jobs = append(jobs, job{c, []Mix{Browse(), Full()}})
	}
	for _, c := range r.plan.ablations {
		jobs = append(jobs, job{c, []Mix{Browse()}})
	}
	for _, j := range jobs {
		if j.c.Redis && r.redisURL == "" {
			continue
		}
		r.say("capacity of %s (%s)", j.c.Name, j.c.About)
		err := r.withShop(ctx, j.c, false, func(s *shop, sessions []string) error {
			for _, mix := range j.mixes {
				c, err := r.capacity(ctx, s, sessions, mix)
				if err != nil {
					return err
				}
				r.report.Capacities = append(r.report.Capacities, c)
				r.say("  → %s/%s sustains %.0f requests/s at p99 ≤ %s", c.Config, c.Mix, c.Rate, r.opts.SLO)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// comparisons runs off and each store in turn at a rate both sustain.
func (r *runner) comparisons(ctx context.Context) error {
	for _, on := range r.plan.compared {
		if on.Redis && r.redisURL == "" {
			continue
		}
		err := r.withShop(ctx, Off(), false, func(off *shop, offSessions []string) error {
			return r.withShop(ctx, on, false, func(s *shop, sessions []string) error {
				for _, mix := range []Mix{Browse(), Full()} {
					if err := r.compare(ctx, mix, off, offSessions, s, sessions); err != nil {
						return err
					}
				}
				return nil
			})
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (r *runner) compare(ctx context.Context, mix Mix, off *shop, offSessions []string, on *shop, onSessions []string) error {
	rate := 50.0
	if a, b := r.report.capacity(Off().Name, mix.Name), r.report.capacity(on.config.Name, mix.Name); a != nil && b != nil && min(a.Rate, b.Rate) > 0 {
		rate = math.Round(0.7 * min(a.Rate, b.Rate))
	}
	c := Comparison{Mix: mix.Name, Off: off.config.Name, On: on.config.Name, Rate: rate}
	r.say("%s against %s, %s mix, at %.0f requests/s, %d rounds", on.config.Name, off.config.Name, mix.Name, rate, r.plan.rounds)
	if err := r.warmUp(ctx, off, offSessions, mix, rate); err != nil {
		return err
	}
	if err := r.warmUp(ctx, on, onSessions, mix, rate); err != nil {
		return err
	}
	// The floor: the constant response of the same shop at the same rate,
	// what no cache can beat on this machine.
	floor, err := r.phase(ctx, on, onSessions, Calibration(), rate, r.plan.phase, 0)
	if err != nil {
		return err
	}
	c.Floor = &floor
	r.say("  floor: %s", r.describe(floor))
	for round := range r.plan.rounds {
		for _, side := range []struct {
			s        *shop
			sessions []string
		}{{off, offSessions}, {on, onSessions}} {
			var profile func() error
			if r.opts.Profile && round == 0 && side.s == on {
				profile = r.profile(ctx, side.s, mix)
			}
			p, err := r.phase(ctx, side.s, side.sessions, mix, rate, r.plan.phase, 0)
			if err != nil {
				return err
			}
			if profile != nil {
				if err := profile(); err != nil {
					r.note("profile of %s/%s: %v", on.config.Name, mix.Name, err)
				}
			}
			c.Phases = append(c.Phases, p)
			r.addWrites(p.Config, p.writes)
			r.say("  %s", r.describe(p))
		}
	}
	// After the rounds, so that its fetches warm neither side of them.
	if err := r.audit(ctx, off, on, fmt.Sprintf("the %s mix at %.0f requests/s, %d rounds", mix.Name, rate, r.plan.rounds)); err != nil {
		return err
	}
	ratios(&c)
	r.report.Comparisons = append(r.report.Comparisons, c)
	r.say("  → on/off: SQL per request %.3f, p50 %.2f, p99 %.2f, shop CPU per request %.2f", c.SQLRatio, c.P50Ratio, c.P99Ratio, c.ShopCPURatio)
	return nil
}

// ratios sums each side's phases, weighted by their requests, and divides.
func ratios(c *Comparison) {
	type sums struct{ req, sql, p50, p99, shop, total float64 }
	var off, on sums
	for _, p := range c.Phases {
		s := &on
		if p.Config == c.Off {
			s = &off
		}
		n := float64(p.Requests)
		s.req += n
		s.sql += p.SQLPerRequest * n
		s.p50 += p.Latency.P50 * n
		s.p99 += p.Latency.P99 * n
		s.shop += p.CPU.Shop * n
		s.total += (p.CPU.Shop + p.CPU.Postgres + p.CPU.Redis) * n
	}
	ratio := func(a, b float64) float64 {
		if b == 0 || off.req == 0 || on.req == 0 {
			return 0
		}
		return (a / on.req) / (b / off.req)
	}
	c.SQLRatio = ratio(on.sql, off.sql)
	c.P50Ratio = ratio(on.p50, off.p50)
	c.P99Ratio = ratio(on.p99, off.p99)
	c.ShopCPURatio = ratio(on.shop, off.shop)
	c.TotalCPURatio = ratio(on.total, off.total)
}

// profile starts a CPU profile of s for the coming phase and returns the
// function that saves it once the phase is over.
func (r *runner) profile(ctx context.Context, s *shop, mix Mix) func() error {
	seconds := max(1, int(r.plan.phase.Seconds())-1)
	done := make(chan error, 1)
	name := fmt.Sprintf("%s-%s-%s.pprof", stem(r.report), s.config.Name, mix.Name)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", s.url, seconds), nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- err
			return
		}
		defer res.Body.Close()
		if res.StatusCode != http.StatusOK {
			done <- fmt.Errorf("GET /debug/pprof/profile: %s", res.Status)
			return
		}
		if err := os.MkdirAll(r.opts.Out, 0o755); err != nil {
			done <- err
			return
		}
		f, err := os.Create(filepath.Join(r.opts.Out, name))
		if err != nil {
			done <- err
			return
		}
		_, err = io.Copy(f, res.Body)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		done <- err
	}()
	return func() error {
		if err := <-done; err != nil {
			return err
		}
		r.report.Profiles = append(r.report.Profiles, name)
		return nil
	}
}

// coldStart starts the default configuration afresh, with and without its
// warm-up, and follows the page cache's hit rate second by second under
// browsing.
func (r *runner) coldStart(ctx context.Context) error {
	warms := []bool{true, false}
	if r.opts.Quick {
		warms = warms[:1]
	}
	rate := 200.0
	if c := r.report.capacity(Memory().Name, Browse().Name); c != nil && c.Rate > 0 {
		rate = math.Round(0.5 * c.Rate)
	}
	for _, warm := range warms {
		c := Memory()
		c.Env = mergeEnv(c.Env, map[string]string{"CACHE_PREFIX": r.prefix + "-cold-" + fmt.Sprint(warm)})
		args := []string{"--warm=never"}
		if warm {
			args = []string{"--warm=always"}
		}
		s, err := r.startShop(ctx, c, args...)
		if err != nil {
			return err
		}
		cs := ColdStart{Config: c.Name, Warm: warm, ReadyAfter: Duration(s.ready.Sub(s.started).Round(time.Millisecond))}
		err = func() error {
			defer s.stop()
			sessions, err := r.login(ctx, s)
			if err != nil {
				return err
			}
			var wg sync.WaitGroup
			loadCtx, stop := context.WithCancel(ctx)
			defer stop()
			wg.Go(func() {
				gen := NewGenerator(Browse(), r.cat, sessions, r.prices, r.opts.Seed+int64(len(r.report.Comparisons)))
				attack(loadCtx, s.urls(), gen, r.cat, r.prices, rate, r.plan.coldStart, 0)
			})
			prev, err := s.counters(ctx)
			if err != nil {
				return err
			}
			for i := range int(r.plan.coldStart / time.Second) {
				time.Sleep(time.Second)
				now, err := s.counters(ctx)
				if err != nil {
					return err
				}
				h := max(0, now.sub(prev).hitRate("page"))
				cs.HitRates = append(cs.HitRates, math.Round(h*1000)/1000)
				if h >= 0.9 && cs.Reached90At == nil {
					at := Duration(s.ready.Sub(s.started).Round(time.Millisecond) + time.Duration(i+1)*time.Second)
					cs.Reached90At = &at
				}
				prev = now
			}
			stop()
			wg.Wait()
			return nil
		}()
		if err != nil {
			return err
		}
		r.say("cold start, warm-up %v: ready after %s, page hit rate by second %v", warm, time.Duration(cs.ReadyAfter), cs.HitRates)
		if cs.Warm {
			r.report.ColdStart = &cs
		} else {
			r.note("Without its warm-up the same shop was ready after %s and its page hit rate by second was %v.", time.Duration(cs.ReadyAfter), cs.HitRates)
		}
	}
	return nil
}

// startRedis starts the run's own Redis, so that its command count and CPU
// are the shop's alone; or uses Options.RedisURL.
func (r *runner) startRedis(ctx context.Context) (func(), error) {
	bin := r.opts.RedisServer
	if bin == "" {
		bin, _ = execLookPath("redis-server")
	}
	if bin == "" {
		if r.opts.RedisURL == "" {
			r.note("No redis-server on PATH and no REDIS_URL: the Redis configurations were left out.")
			return func() {}, nil
		}
		r.redisURL = r.opts.RedisURL
		opt, err := redis.ParseURL(r.redisURL)
		if err != nil {
			return nil, fmt.Errorf("REDIS_URL: %w", err)
		}
		r.redis = redis.NewClient(opt)
		r.note("Redis at %s is shared with whatever else uses it: its command counts and CPU are not the shop's alone.", opt.Addr)
		r.report.Redis = redisVersion(ctx, r.redis)
		return func() { r.redis.Close() }, nil
	}
	srv, err := startRedisServer(ctx, bin)
	if err != nil {
		return nil, err
	}
	r.redisURL, r.redisPID = srv.url, srv.pid
	r.redis = redis.NewClient(&redis.Options{Addr: srv.addr})
	r.report.Redis = redisVersion(ctx, r.redis)
	return func() { r.redis.Close(); srv.stop() }, nil
}
