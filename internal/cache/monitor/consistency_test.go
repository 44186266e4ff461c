package monitor_test

import (
	"context"
	"fmt"
	"html/template"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"example.com/shop/internal/cache"
	"example.com/shop/internal/cache/backend"
	"example.com/shop/internal/cache/cachetest"
	"example.com/shop/internal/cache/fragment"
	"example.com/shop/internal/cache/monitor"
	"example.com/shop/internal/testdb"
	"example.com/shop/internal/testlog"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// probe is a row of a table of the test's own, read through Remember as
// the domains read theirs.
type probe struct {
	ID   int64
	Name string
}

// probes is a PostgreSQL table of rows the tests read and change.
type probes struct {
	pool  *pgxpool.Pool
	reads atomic.Int64
	// gate, when set, holds every read after the first until it is
	// closed, and entered receives once per held read: for the checks'
	// loads (the first read is the miss that fills the cache).
	gate, entered chan struct{}
	// done receives once per held read when it has returned.
	done chan struct{}
}

func newProbes(t *testing.T) *probes {
	t.Helper()
	pool := testdb.New(t)
	if _, err := pool.Exec(t.Context(), `CREATE TABLE consistency_probe (id bigint PRIMARY KEY, name text NOT NULL);
		INSERT INTO consistency_probe VALUES (1, 'lamp'), (2, 'mug')`); err != nil {
		t.Fatal(err)
	}
	return &probes{pool: pool}
}

func (p *probes) hold() {
	p.gate, p.entered, p.done = make(chan struct{}), make(chan struct{}, 100), make(chan struct{}, 100)
}

func (p *probes) load(id int64) func(context.Context) (probe, error) {
	return func(ctx context.Context) (probe, error) {
		if n := p.reads.Add(1); n > 1 && p.gate != nil {
			p.entered <- struct{}{}
			defer func() { p.done <- struct{}{} }()
			select {
			case <-p.gate:
			case <-ctx.Done():
				return probe{}, ctx.Err()
			}
		}
		r := probe{ID: id}
		err := p.pool.QueryRow(ctx, `SELECT name FROM consistency_probe WHERE id = $1`, id).Scan(&r.Name)
		return r, err
	}
}

func (p *probes) rename(t *testing.T, id int64, name string) {
	t.Helper()
	if _, err := p.pool.Exec(context.Background(), `UPDATE consistency_probe SET name = $2 WHERE id = $1`, id, name); err != nil {
		t.Fatal(err)
	}
}

func probeKey(id int64) string { return cache.EntityKey("probe", id) }
func probeTag(id int64) string { return fmt.Sprintf("probe:%d", id) }

func probeOpts(id int64) cache.Opts {
	return cache.Opts{Layer: cache.LayerQuery, Tags: []string{probeTag(id)}}
}

// sampled returns the default alias of caches of kind whose every hit a
// sampler of o checks (checks wait 100ms for a write to explain a
// difference, unless given).
func sampled(t *testing.T, kind string, o monitor.ConsistencyOptions) (*cache.Alias, *monitor.Consistency) {
	t.Helper()
	if o.Grace == 0 {
		o.Grace = 100 * time.Millisecond
	}
	c, s := cachetest.Sampled(t, map[string]string{"CACHE_STORE": kind, "REDIS_URL": cachetest.SharedRedisURL()}, o)
	return c.Default, s
}

var kinds = []string{"memory", "redis", "tiered"}

// waitReport waits until the sampler's report satisfies ok.
func waitReport(t *testing.T, c *monitor.Consistency, what string, ok func(monitor.ConsistencyReport) bool) monitor.ConsistencyReport {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := c.Report()
		if ok(r) {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sampler's report never showed %s: %+v", what, r)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func remember(t *testing.T, a *cache.Alias, p *probes, id int64) probe {
	t.Helper()
	v, err := cache.Remember(context.Background(), a, probeKey(id), probeOpts(id), p.load(id))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestConsistencySamplerUnchanged: with every hit checked, hits of values
// nobody changed are 100% consistent, on every store, and nothing is
// dropped.
func TestConsistencySamplerUnchanged(t *testing.T) {
	t.Parallel()
	p := newProbes(t)
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			a, c := sampled(t, kind, monitor.ConsistencyOptions{Queue: 100})
			const hits = 30
			for range hits + 1 {
				remember(t, a, p, 1)
				remember(t, a, p, 2)
			}
			r := waitReport(t, c, fmt.Sprintf("%d checks", 2*hits), func(r monitor.ConsistencyReport) bool { return r.Checks >= 2*hits })
			if r.Checks != 2*hits || r.Mismatches != 0 || r.Dropped != 0 || r.Failed != 0 || r.Changed != 0 || r.WithinBound != 0 {
				t.Errorf("report %+v: want %d consistent checks and nothing else", r, 2*hits)
			}
			if got := r.Percent(); got != "100%" {
				t.Errorf("Percent = %q, want 100%%", got)
			}
			if len(r.Families) != 1 || r.Families[0].Family != "probe" || r.Families[0].Layer != cache.LayerQuery || r.Families[0].Checks != 2*hits {
				t.Errorf("families %+v: want the query layer's probe family with every check", r.Families)
			}
		})
	}
}

// TestConsistencySamplerMismatch: a wrong value written straight into the
// store, in a valid entry recording the current generations, is served
// by the next hit and reported as a mismatch: in the report, the metrics
// and the log, which names the key and never the value.
func TestConsistencySamplerMismatch(t *testing.T) {
	t.Parallel()
	p := newProbes(t)
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			reg := prometheus.NewRegistry()
			var log testlog.Buffer
			a, c := sampled(t, kind, monitor.ConsistencyOptions{
				Metrics: monitor.NewMetrics(reg), Logger: slog.New(slog.NewTextHandler(&log, nil)),
			})
			ctx := context.Background()
			remember(t, a, p, 1)
			if err := cache.Set(ctx, a, probeKey(1), probe{ID: 1, Name: "forged-name"}, probeOpts(1)); err != nil {
				t.Fatal(err)
			}
			if got := remember(t, a, p, 1); got.Name != "forged-name" {
				t.Fatalf("the hit served %q: the forged entry was not taken", got.Name)
			}
			r := waitReport(t, c, "a mismatch", func(r monitor.ConsistencyReport) bool { return r.Mismatches > 0 })
			if r.Mismatches != 1 || r.Checks != 1 || r.Percent() != "0.0%" {
				t.Errorf("report %+v (%s): want one check, a mismatch", r, r.Percent())
			}
			if r.Last == nil || r.Last.Key != probeKey(1) || r.Last.Layer != cache.LayerQuery || r.Last.Family != "probe" || r.Last.Age > time.Minute {
				t.Errorf("last mismatch %+v: want key %s of the query layer, family probe, a young entry", r.Last, probeKey(1))
			}
			if n := metricValue(t, reg, "shop_cache_consistency_checks_total", map[string]string{
				"alias": "default", "layer": "query", "family": "probe", "verdict": "mismatch"}); n != 1 {
				t.Errorf("shop_cache_consistency_checks_total{verdict=mismatch} = %v, want 1", n)
			}
			// The sampler logs and counts in the metrics before the report.
			out := log.String()
			if !strings.Contains(out, "key="+probeKey(1)) || !strings.Contains(out, "layer=query") || !strings.Contains(out, "age=") {
				t.Errorf("the mismatch's log line lacks its key, layer or age:\n%s", out)
			}
			if strings.Contains(out, "forged") || strings.Contains(out, "lamp") {
				t.Errorf("the log shows a value:\n%s", out)
			}
		})
	}
}

// TestConsistencySamplerChangedMeanwhile: a value changed in the database
// between the hit and the check is no mismatch once its tag is
// invalidated, whether the invalidation landed before the check read the
// database's value or only after (within the grace a write's
// invalidation has). Without an invalidation, the same change is one.
func TestConsistencySamplerChangedMeanwhile(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		invalidate string // "before" the check's load returns, "after" it, or "never"
		want       func(monitor.ConsistencyReport) bool
	}{
		{"invalidated before the load", "before", func(r monitor.ConsistencyReport) bool { return r.Changed == 1 }},
		{"invalidated within the grace", "after", func(r monitor.ConsistencyReport) bool { return r.Changed == 1 }},
		{"not invalidated", "never", func(r monitor.ConsistencyReport) bool { return r.Mismatches == 1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := newProbes(t)
			p.hold()
			a, c := sampled(t, "redis", monitor.ConsistencyOptions{Grace: 5 * time.Second})
			ctx := context.Background()
			remember(t, a, p, 1)
			if got := remember(t, a, p, 1); got.Name != "lamp" {
				t.Fatalf("hit = %q", got.Name)
			}
			// The hit has returned; its check waits in its load.
			<-p.entered
			p.rename(t, 1, "desk lamp")
			if tc.invalidate == "before" {
				if err := a.Tags().Invalidate(ctx, probeTag(1)); err != nil {
					t.Fatal(err)
				}
			}
			close(p.gate)
			<-p.done
			if tc.invalidate == "after" {
				if err := a.Tags().Invalidate(ctx, probeTag(1)); err != nil {
					t.Fatal(err)
				}
			}
			r := waitReport(t, c, "the check's verdict", func(r monitor.ConsistencyReport) bool {
				return r.Changed+r.Mismatches+r.Checks+r.Failed > 0
			})
			if !tc.want(r) || r.Failed != 0 || r.Changed+r.Mismatches != 1 {
				t.Errorf("report %+v", r)
			}
		})
	}
}

// TestConsistencySamplerBounds: the hits never wait for the checks; the
// queue holds at most its bound, and the rate at most its tokens: the
// others are dropped and counted.
func TestConsistencySamplerBounds(t *testing.T) {
	t.Parallel()
	t.Run("queue", func(t *testing.T) {
		t.Parallel()
		p := newProbes(t)
		p.hold()
		reg := prometheus.NewRegistry()
		a, c := sampled(t, "memory", monitor.ConsistencyOptions{Workers: 1, Queue: 2, Metrics: monitor.NewMetrics(reg)})
		remember(t, a, p, 1)
		remember(t, a, p, 1)
		<-p.entered // the only worker is busy
		for range 9 {
			remember(t, a, p, 1) // returns at once, though no check can run
		}
		if r := c.Report(); r.Dropped != 7 {
			t.Errorf("%d samples dropped, want 7: 1 in the worker, 2 in the queue", r.Dropped)
		}
		if n := metricValue(t, reg, "shop_cache_consistency_dropped_total", map[string]string{"reason": "queue"}); n != 7 {
			t.Errorf("shop_cache_consistency_dropped_total{reason=queue} = %v, want 7", n)
		}
		close(p.gate)
		r := waitReport(t, c, "3 checks", func(r monitor.ConsistencyReport) bool { return r.Checks >= 3 })
		if r.Checks != 3 || r.Mismatches != 0 {
			t.Errorf("report %+v: want the 3 samples taken checked, consistent", r)
		}
	})
	t.Run("rate", func(t *testing.T) {
		t.Parallel()
		p := newProbes(t)
		reg := prometheus.NewRegistry()
		const rate, hits = 5, 200
		a, c := sampled(t, "memory", monitor.ConsistencyOptions{Rate: rate, Queue: 1000, Metrics: monitor.NewMetrics(reg)})
		remember(t, a, p, 1)
		start := time.Now()
		for range hits {
			remember(t, a, p, 1)
		}
		took := time.Since(start)
		dropped := c.Report().Dropped
		taken := hits - dropped
		// A burst of one second's worth, then rate a second.
		if most := int64(rate + rate*took.Seconds() + 1); taken > most || taken < rate {
			t.Errorf("%d of %d hits checked in %s at %d a second: want from %d to %d", taken, hits, took, rate, rate, most)
		}
		if n := metricValue(t, reg, "shop_cache_consistency_dropped_total", map[string]string{"reason": "rate"}); int64(n) != dropped {
			t.Errorf("shop_cache_consistency_dropped_total{reason=rate} = %v, want %d", n, dropped)
		}
		waitReport(t, c, fmt.Sprintf("%d checks", taken), func(r monitor.ConsistencyReport) bool { return r.Checks == taken })
	})
}

// TestConsistencySamplerNeverWrites: a check's load that reads another
// cached value reads it from the database and stores nothing.
func TestConsistencySamplerNeverWrites(t *testing.T) {
	t.Parallel()
	p := newProbes(t)
	a, c := sampled(t, "memory", monitor.ConsistencyOptions{})
	ctx := context.Background()
	var innerLoads atomic.Int64
	outer := func(ctx context.Context) (string, error) {
		inner, err := cache.Remember(ctx, a, probeKey(2), probeOpts(2), func(ctx context.Context) (probe, error) {
			innerLoads.Add(1)
			return p.load(2)(ctx)
		})
		return "with " + inner.Name, err
	}
	o := cache.Opts{Layer: cache.LayerAggregate, Tags: []string{probeTag(2)}}
	if _, err := cache.Remember(ctx, a, "outer", o, outer); err != nil {
		t.Fatal(err)
	}
	if err := a.Delete(ctx, probeKey(2)); err != nil {
		t.Fatal(err)
	}
	if _, err := cache.Remember(ctx, a, "outer", o, outer); err != nil { // a hit, checked
		t.Fatal(err)
	}
	r := waitReport(t, c, "a check", func(r monitor.ConsistencyReport) bool { return r.Checks == 1 })
	if r.Mismatches != 0 {
		t.Errorf("report %+v", r)
	}
	if n := innerLoads.Load(); n != 2 {
		t.Errorf("%d inner loads after the check, want 2: the check reads the inner value from the database", n)
	}
	if _, ok := cache.Get[probe](ctx, a, probeKey(2), probeOpts(2)); ok {
		t.Error("the check stored the inner value")
	}
}

// TestConsistencySamplerFragments: a fragment hit is checked by rendering
// its data again, nested fragments included, and HTML that is not what
// the template renders (an entry forged under the fragment's key) is a
// mismatch.
func TestConsistencySamplerFragments(t *testing.T) {
	t.Parallel()
	a, c := sampled(t, "redis", monitor.ConsistencyOptions{})
	ctx := context.Background()
	tpl := template.Must(template.New("set").Parse(`{{define "card"}}{{with .Data}}<li>{{.Name}}</li>{{end}}{{end}}` +
		`{{define "list"}}<ul>{{$.Frag.Each "card" .Data}}</ul>{{end}}`))
	frags := fragment.New(a, "build-1")
	frags.Prepare(tpl)
	f := frags.For(ctx, tpl)
	type card struct{ Name string }
	cards := []card{{"Lamp"}, {"Mug"}}
	list := func() template.HTML {
		t.Helper()
		html, err := f.Cache("list", cards)
		if err != nil {
			t.Fatal(err)
		}
		return html
	}
	for range 3 {
		if html := list(); html != "<ul><li>Lamp</li><li>Mug</li></ul>" {
			t.Fatalf("list = %q", html)
		}
	}
	if _, err := f.Each("card", cards); err != nil {
		t.Fatal(err)
	}
	// Two hits of the list, two of the cards (stored by the list's first
	// render).
	r := waitReport(t, c, "4 checks", func(r monitor.ConsistencyReport) bool { return r.Checks >= 4 })
	if r.Checks != 4 || r.Mismatches != 0 || r.Failed != 0 {
		t.Errorf("report %+v", r)
	}
	var families []string
	for _, f := range r.Families {
		families = append(families, fmt.Sprintf("%s/%s:%d", f.Layer, f.Family, f.Checks))
	}
	if got := strings.Join(families, " "); got != "fragment/frag:card:2 fragment/frag:list:2" {
		t.Errorf("families %s, want fragment/frag:card:2 fragment/frag:list:2", got)
	}

	keys, err := a.Keys(ctx, "frag:list:*", 10)
	if err != nil || len(keys) != 1 {
		t.Fatalf("the list's entry: %v, %v", keys, err)
	}
	key := strings.TrimPrefix(keys[0], a.Prefix())
	if err := cache.Set(ctx, a, key, "<ul>forged</ul>", cache.Opts{Layer: cache.LayerFragment, Codec: cache.Msgpack()}); err != nil {
		t.Fatal(err)
	}
	if html := list(); html != "<ul>forged</ul>" {
		t.Fatalf("list = %q: the forged entry was not served", html)
	}
	r = waitReport(t, c, "a mismatch", func(r monitor.ConsistencyReport) bool { return r.Mismatches > 0 })
	if r.Mismatches != 1 || r.Last == nil || r.Last.Key != key || r.Last.Family != "frag:list" {
		t.Errorf("report %+v, last %+v: want one mismatch of %s", r, r.Last, key)
	}
}

// metricValue returns the value of the counter name with labels in reg.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if want, ok := labels[l.GetName()]; ok && want != l.GetValue() {
					continue metrics
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// TestConsistencySamplerConfig: CACHE_CONSISTENCY_SAMPLE and
// CACHE_CONSISTENCY_RATE default to one hit in a thousand and 50 checks a
// second; either at 0 turns the sampler off, and what is not a number in
// range is refused.
func TestConsistencySamplerConfig(t *testing.T) {
	t.Parallel()
	read := func(vars map[string]string) (backend.Config, error) {
		return backend.ConfigFromEnv(func(k string) string { return vars[k] })
	}
	cfg, err := read(nil)
	if err != nil || cfg.ConsistencySample != 0.001 || cfg.ConsistencyRate != 50 {
		t.Errorf("defaults: sample %v, rate %v, %v; want 0.001 and 50", cfg.ConsistencySample, cfg.ConsistencyRate, err)
	}
	for _, bad := range []map[string]string{
		{"CACHE_CONSISTENCY_SAMPLE": "often"}, {"CACHE_CONSISTENCY_SAMPLE": "1.5"}, {"CACHE_CONSISTENCY_SAMPLE": "-0.1"},
		{"CACHE_CONSISTENCY_SAMPLE": "NaN"}, {"CACHE_CONSISTENCY_RATE": "-1"}, {"CACHE_CONSISTENCY_RATE": "fast"},
	} {
		if _, err := read(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	for _, tc := range []struct {
		env map[string]string
		on  bool
	}{
		{map[string]string{}, false}, // cachetest turns the sampler off unless asked
		{map[string]string{"CACHE_CONSISTENCY_SAMPLE": "0.001"}, true},
		{map[string]string{"CACHE_CONSISTENCY_SAMPLE": "0"}, false},
		{map[string]string{"CACHE_CONSISTENCY_RATE": "0"}, false},
		{map[string]string{"CACHE_STORE": "none"}, false},
		{map[string]string{"CACHE_CONSISTENCY_SAMPLE": "1", "CACHE_CONSISTENCY_RATE": "5"}, true},
	} {
		c := cachetest.Caches(t, tc.env)
		s := monitor.ConsistencyOf(c)
		r := s.Report()
		if r.On != tc.on || (s != nil) != tc.on {
			t.Errorf("%v: sampler on %v, want %v", tc.env, r.On, tc.on)
		}
		if tc.env["CACHE_CONSISTENCY_RATE"] == "5" && (r.Share != 1 || r.Rate != 5) {
			t.Errorf("%v: share %v, rate %v", tc.env, r.Share, r.Rate)
		}
	}
}
