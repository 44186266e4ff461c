package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Config is one way of running the shop: a name for the report and the
// environment that makes it so.
type Config struct {
	Name  string
	About string
	Env   map[string]string
	Redis bool // needs the benchmark's Redis
	// Instances is how many `shop serve` processes share the load, on
	// one store: 0 or 1 for one. The load goes to each in turn, as a
	// round-robin balancer in front of them would send it.
	Instances int
}

// The configurations the benchmark compares, each a function, so that no
// caller can change another's.

// Off is the shop without any cache.
func Off() Config {
	return Config{Name: "off", About: "no cache at all (CACHE_STORE=none)", Env: map[string]string{"CACHE_STORE": "none"}}
}

// Memory is every layer on the in-process store.
func Memory() Config {
	return Config{Name: "memory", About: "every layer, in-process store", Env: map[string]string{"CACHE_STORE": "memory"}}
}

// Redis is every layer on Redis.
func Redis() Config {
	return Config{Name: "redis", About: "every layer, Redis store", Env: map[string]string{"CACHE_STORE": "redis"}, Redis: true}
}

// Tiered is every layer on memory in front of Redis.
func Tiered() Config {
	return Config{Name: "tiered", About: "every layer, memory in front of Redis", Env: map[string]string{"CACHE_STORE": "tiered"}, Redis: true}
}

// TieredPair is the tiered store on two instances, the configuration a
// shop that outgrew one process runs: what it keeps in memory, each
// instance trusts under its lease.
func TieredPair() Config {
	c := Tiered()
	c.Name, c.About, c.Instances = "tiered-2", "every layer, memory in front of Redis, two instances sharing the load", 2
	return c
}

// Stores are the configurations with every layer on.
func Stores() []Config { return []Config{Memory(), Redis(), Tiered(), TieredPair()} }

// Ablation returns the memory configuration with one layer off.
func Ablation(layer string) Config {
	var on []string
	for _, l := range []string{"http", "page", "fragment", "query", "aggregate"} {
		if l != layer {
			on = append(on, l)
		}
	}
	return Config{
		Name: "no-" + layer, About: "memory store, every layer but " + layer,
		Env: map[string]string{"CACHE_STORE": "memory", "CACHE_LAYERS": strings.Join(on, ",")},
	}
}

// Ablations are the memory configuration with each layer off in turn.
func Ablations() []Config {
	return []Config{Ablation("http"), Ablation("page"), Ablation("fragment"), Ablation("query"), Ablation("aggregate")}
}

// shop is a `shop serve` process under test.
type shop struct {
	config  Config
	url     string
	cmd     *exec.Cmd
	started time.Time
	ready   time.Time
	stderr  *tail
	// peers are the configuration's other instances (Config.Instances).
	peers []*shop
}

// instances are the shop's processes: itself and its peers.
func (s *shop) instances() []*shop { return append([]*shop{s}, s.peers...) }

// urls are the addresses of its instances.
func (s *shop) urls() []string {
	var out []string
	for _, i := range s.instances() {
		out = append(out, i.url)
	}
	return out
}

// pids are the process ids of its instances.
func (s *shop) pids() []int {
	var out []int
	for _, i := range s.instances() {
		out = append(out, i.pid())
	}
	return out
}

// startShop starts the shop in configuration c and waits until it is
// ready. It listens on a free loopback port.
func (r *runner) startShop(ctx context.Context, c Config, extraArgs ...string) (*shop, error) {
	o := r.opts
	args := append(append([]string{}, o.Command[1:]...), "serve", "--migrate=false")
	args = append(args, extraArgs...)
	cmd := exec.Command(o.Command[0], args...)
	cmd.Env = append(os.Environ(),
		"DATABASE_URL="+r.databaseURL, "SHOP_ADDR=127.0.0.1:0", "LOG_LEVEL=warn",
		"SHOP_ADMIN_TOKEN="+r.adminToken, "SHOP_ENV=production", "SHOP_METRICS_TOKEN=",
		"REDIS_URL="+r.redisURL, "SESSIONS_REDIS_URL=", "CACHE_PREFIX="+r.prefix, "CACHE_LAYERS=all",
	)
	if r.plan.sample != "" {
		cmd.Env = append(cmd.Env, "CACHE_CONSISTENCY_SAMPLE="+r.plan.sample)
	}
	for k, v := range c.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	s := &shop{config: c, cmd: cmd, stderr: &tail{}}
	cmd.Stderr = s.stderr
	s.started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the shop (%s): %w", c.Name, err)
	}
	found := ServingAddress(stdout)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	fail := func(err error) (*shop, error) {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("the shop (%s) did not start: %w\n%s", c.Name, err, s.stderr)
	}
	select {
	case s.url = <-found:
	case err := <-exited:
		exited <- err
		return fail(fmt.Errorf("it exited: %v", err))
	case <-time.After(2 * time.Minute):
		return fail(errors.New("it said nothing for 2 minutes"))
	case <-ctx.Done():
		return fail(ctx.Err())
	}
	go func() {
		err := <-exited
		s.stderr.exited(err)
	}()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		res, err := http.Get(s.url + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				s.ready = time.Now()
				if err := r.startPeers(ctx, s, extraArgs); err != nil {
					return nil, err
				}
				return s, nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fail(errors.New("it was never ready"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startPeers starts the other instances of s's configuration, on the
// same store and key prefix; on failure it stops those it started and s.
func (r *runner) startPeers(ctx context.Context, s *shop, extraArgs []string) error {
	one := s.config
	one.Instances = 0
	for range s.config.Instances - 1 {
		p, err := r.startShop(ctx, one, extraArgs...)
		if err != nil {
			s.stop()
			return err
		}
		s.peers = append(s.peers, p)
	}
	return nil
}

// pid is the shop's process id.
func (s *shop) pid() int { return s.cmd.Process.Pid }

// stop ends the shop gracefully, or kills it after 10 seconds.
func (s *shop) stop() {
	for _, p := range s.peers {
		p.stop()
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	deadline := time.Now().Add(10 * time.Second)
	for !s.stderr.hasExited() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	_ = s.cmd.Process.Kill()
}

// tail keeps the last lines a process wrote to its standard error, to
// explain a failure.
type tail struct {
	mu   sync.Mutex
	buf  []byte
	done bool
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 8<<10 {
		t.buf = t.buf[len(t.buf)-8<<10:]
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

func (t *tail) exited(error) {
	t.mu.Lock()
	t.done = true
	t.mu.Unlock()
}

func (t *tail) hasExited() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.done
}

// counters are the shop's own counts, read from its /metrics.
type counters struct {
	Requests   float64                       // HTTP requests, but those for /metrics
	Statements float64                       // SQL statements
	Cache      map[string]map[string]float64 // cache operations by layer and outcome
	// Consistency is the consistency sampler's checks by verdict, and
	// its drops under "dropped".
	Consistency map[string]float64
	// Processed is the last database change whose invalidations the
	// shop has run (a gauge: sub leaves it out).
	Processed int64
}

func (c counters) sub(before counters) counters {
	d := counters{Requests: c.Requests - before.Requests, Statements: c.Statements - before.Statements, Cache: map[string]map[string]float64{},
		Consistency: map[string]float64{}}
	for v, n := range c.Consistency {
		d.Consistency[v] = n - before.Consistency[v]
	}
	for layer, outcomes := range c.Cache {
		d.Cache[layer] = map[string]float64{}
		for o, n := range outcomes {
			d.Cache[layer][o] = n - before.Cache[layer][o]
		}
	}
	return d
}

// hitRate is the part of a layer's lookups that found a value (fresh or
// served stale while refreshed); -1 when the layer was not asked.
func (c counters) hitRate(layer string) float64 {
	o := c.Cache[layer]
	found := o["hit"] + o["stale"]
	if asked := found + o["miss"]; asked > 0 {
		return found / asked
	}
	return -1
}

var metricsClient = &http.Client{Timeout: 10 * time.Second}

// counters adds up the counters of the shop's instances; Processed is
// the instance furthest behind.
func (s *shop) counters(ctx context.Context) (counters, error) {
	var all counters
	for i, in := range s.instances() {
		c, err := in.metrics(ctx)
		if err != nil {
			return counters{}, err
		}
		if i == 0 {
			all = c
			continue
		}
		all.Requests += c.Requests
		all.Statements += c.Statements
		for layer, outcomes := range c.Cache {
			if all.Cache[layer] == nil {
				all.Cache[layer] = map[string]float64{}
			}
			for o, n := range outcomes {
				all.Cache[layer][o] += n
			}
		}
		for v, n := range c.Consistency {
			all.Consistency[v] += n
		}
		all.Processed = min(all.Processed, c.Processed)
	}
	return all, nil
}

// metrics reads one instance's /metrics.
func (s *shop) metrics(ctx context.Context) (counters, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/metrics", nil)
	res, err := metricsClient.Do(req)
	if err != nil {
		return counters{}, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return counters{}, fmt.Errorf("GET /metrics: %s", res.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(res.Body)
	if err != nil {
		return counters{}, fmt.Errorf("read /metrics: %w", err)
	}
	c := counters{Cache: map[string]map[string]float64{}, Consistency: map[string]float64{}}
	if f := families["shop_http_request_duration_seconds"]; f != nil {
		for _, m := range f.GetMetric() {
			if label(m.GetLabel(), "route") != "/metrics" {
				c.Requests += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	if f := families["shop_sql_statement_duration_seconds"]; f != nil {
		for _, m := range f.GetMetric() {
			c.Statements += float64(m.GetHistogram().GetSampleCount())
		}
	}
	if f := families["shop_cache_operations_total"]; f != nil {
		for _, m := range f.GetMetric() {
			layer, outcome := label(m.GetLabel(), "layer"), label(m.GetLabel(), "outcome")
			if c.Cache[layer] == nil {
				c.Cache[layer] = map[string]float64{}
			}
			c.Cache[layer][outcome] += m.GetCounter().GetValue()
		}
	}
	if f := families["shop_cache_consistency_checks_total"]; f != nil {
		for _, m := range f.GetMetric() {
			c.Consistency[label(m.GetLabel(), "verdict")] += m.GetCounter().GetValue()
		}
	}
	if f := families["shop_changes_processed"]; f != nil {
		for _, m := range f.GetMetric() {
			c.Processed = int64(m.GetGauge().GetValue())
		}
	}
	if f := families["shop_cache_consistency_dropped_total"]; f != nil {
		for _, m := range f.GetMetric() {
			c.Consistency["dropped"] += m.GetCounter().GetValue()
		}
	}
	return c, nil
}

// consistency is the sampler's figure of c (a difference of counters).
func (c counters) consistency() Consistency {
	n := func(v string) int { return int(c.Consistency[v]) }
	return Consistency{
		Checks: n("consistent") + n("mismatch") + n("within_bound"), Mismatches: n("mismatch"), WithinBound: n("within_bound"),
		Changed: n("changed"), Failed: n("error"), Dropped: n("dropped"),
	}
}

func label[L interface {
	GetName() string
	GetValue() string
}](labels []L, name string) string {
	for _, l := range labels {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// login logs a customer in and returns the session cookie. A 503 is the
// shop saying it cannot take a login right now (its session store is slow
// or down): like a customer, the benchmark tries again after the
// Retry-After it was given, for up to a minute, rather than end a run in
// its set-up.
func (s *shop) login(ctx context.Context, email, password string) (string, error) {
	client := &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	form := url.Values{"email": {email}, "password": {password}}.Encode()
	deadline := time.Now().Add(time.Minute)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.url+"/login", strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := client.Do(req)
		if err != nil {
			return "", err
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		for _, c := range res.Cookies() {
			if c.Name == "shop_session" && c.Value != "" {
				return c.Name + "=" + c.Value, nil
			}
		}
		err = fmt.Errorf("log in as %s: %s and no session", email, res.Status)
		wait := time.Second
		if n, perr := strconv.Atoi(res.Header.Get("Retry-After")); perr == nil && n >= 0 {
			wait = time.Duration(n) * time.Second
		}
		if res.StatusCode != http.StatusServiceUnavailable || time.Now().Add(wait).After(deadline) {
			return "", err
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(wait):
		}
	}
}

var servingOn = regexp.MustCompile(`serving on (http://\S+)`)

// ServingAddress reads the output of a `shop serve` process and sends the
// address it says it serves on. It reads to the end, so that the process
// never blocks on a full pipe.
func ServingAddress(stdout io.Reader) <-chan string {
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := servingOn.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	return found
}
