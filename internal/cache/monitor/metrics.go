package monitor

import (
	"sync"
	"sync/atomic"
	"time"

	"example.com/shop/internal/cache"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the process-wide figures of every alias, for Prometheus and
// the admin pages: the shop's cache.Recorder. A nil *Metrics records
// nothing.
type Metrics struct {
	ops      *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	bytes    *prometheus.CounterVec
	breaker  *prometheus.GaugeVec
	loads    *prometheus.HistogramVec
	refresh  *prometheus.CounterVec
	coalesce *prometheus.CounterVec
	checks   *prometheus.CounterVec // the consistency sampler's
	dropped  *prometheus.CounterVec
	counts   counts
	lat      latencies // by layer, for the admin page's latency chart
}

// NewMetrics registers the cache's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		ops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shop_cache_operations_total", Help: "Cache operations by alias, layer and outcome.",
		}, []string{"alias", "layer", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "shop_cache_operation_duration_seconds", Help: "Time of cache store calls.",
			Buckets: []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25},
		}, []string{"alias", "op"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shop_cache_bytes_total", Help: "Bytes read from and written to the cache.",
		}, []string{"alias", "layer", "direction"}),
		breaker: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "shop_cache_breaker_open", Help: "1 while the circuit breaker of a store is open.",
		}, []string{"store"}),
		loads: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "shop_cache_load_duration_seconds", Help: "Time of the loads that fill the cache on a miss.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 10),
		}, []string{"alias", "layer"}),
		refresh: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shop_cache_refreshes_total", Help: "Background refreshes: early (before expiry) and stale (after).",
		}, []string{"alias", "layer", "kind"}),
		coalesce: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shop_cache_coalesced_total", Help: "Misses that waited for another caller's load instead of loading.",
		}, []string{"alias", "layer", "how"}),
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shop_cache_consistency_checks_total",
			Help: "Cache hits checked against the database by the consistency sampler, by alias, layer, key family and verdict.",
		}, []string{"alias", "layer", "family", "verdict"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shop_cache_consistency_dropped_total",
			Help: "Hits drawn for a consistency check but not checked: the queue was full or the rate spent.",
		}, []string{"reason"}),
	}
	reg.MustRegister(m.ops, m.latency, m.bytes, m.breaker, m.loads, m.refresh, m.coalesce, m.checks, m.dropped)
	m.counts.m = map[countKey]*[5]atomic.Int64{}
	return m
}

// Op counts one operation of an alias: by outcome, and for a store call
// its time and the bytes it moved.
func (m *Metrics) Op(op cache.Op) {
	if m == nil {
		return
	}
	m.ops.WithLabelValues(op.Alias, string(op.Layer), string(op.Outcome)).Inc()
	m.counts.add(op.Alias, op.Layer, op.Outcome)
	if op.Took > 0 {
		call := "get"
		switch op.Outcome {
		case cache.Stored:
			call = "set"
		case cache.Failed:
			call = "failed"
		}
		m.latency.WithLabelValues(op.Alias, call).Observe(op.Took.Seconds())
		if call == "get" {
			m.lat.observe(op.Layer, lookupTime, op.Took)
		}
	}
	direction := ""
	switch op.Outcome {
	case cache.Hit, cache.Stale:
		direction = "read"
	case cache.Stored:
		direction = "write"
	}
	if direction != "" && op.Bytes > 0 {
		m.bytes.WithLabelValues(op.Alias, string(op.Layer), direction).Add(float64(op.Bytes))
	}
}

// Loaded times a load that filled the cache.
func (m *Metrics) Loaded(alias string, layer cache.Layer, took time.Duration) {
	if m != nil {
		m.loads.WithLabelValues(alias, string(layer)).Observe(took.Seconds())
		m.lat.observe(layer, loadTime, took)
	}
}

// Refreshed counts a background refresh.
func (m *Metrics) Refreshed(alias string, layer cache.Layer, kind string) {
	if m != nil {
		m.refresh.WithLabelValues(alias, string(layer), kind).Inc()
	}
}

// Coalesced counts a miss that waited for another caller's load.
func (m *Metrics) Coalesced(alias string, layer cache.Layer, how string) {
	if m != nil {
		m.coalesce.WithLabelValues(alias, string(layer), how).Inc()
	}
}

// Checked counts a verdict of the consistency sampler.
func (m *Metrics) Checked(alias string, layer cache.Layer, family string, v Verdict) {
	if m != nil {
		m.checks.WithLabelValues(alias, string(layer), family, v.String()).Inc()
	}
}

// Dropped counts a hit the consistency sampler could not check.
func (m *Metrics) Dropped(reason string) {
	if m != nil {
		m.dropped.WithLabelValues(reason).Inc()
	}
}

// Breaker sets the gauge of a store's circuit breaker.
func (m *Metrics) Breaker(store string, open bool) {
	if m != nil {
		v := 0.0
		if open {
			v = 1
		}
		m.breaker.WithLabelValues(store).Set(v)
	}
}

var _ cache.Recorder = (*Metrics)(nil)

// counts are the in-process totals behind the admin page's figures, by
// alias and layer: Prometheus keeps the same in its own registry, for
// scraping.
type counts struct {
	mu sync.Mutex
	m  map[countKey]*[5]atomic.Int64 // hit, miss, stale, set, error
}

type countKey struct {
	alias string
	layer cache.Layer
}

var outcomeIndex = map[cache.Outcome]int{cache.Hit: 0, cache.Miss: 1, cache.Stale: 2, cache.Stored: 3, cache.Failed: 4}

func (c *counts) add(alias string, layer cache.Layer, o cache.Outcome) {
	i, ok := outcomeIndex[o]
	if !ok {
		return
	}
	k := countKey{alias, layer}
	c.mu.Lock()
	v := c.m[k]
	if v == nil {
		v = new([5]atomic.Int64)
		c.m[k] = v
	}
	c.mu.Unlock()
	v[i].Add(1)
}

// Totals are cumulative operation counts.
type Totals struct {
	Hits, Misses, Stale, Sets, Errors int64
}

// HitRate returns the share of reads answered from the cache, in percent.
func (t Totals) HitRate() float64 {
	reads := t.Hits + t.Stale + t.Misses + t.Errors
	if reads == 0 {
		return 0
	}
	return 100 * float64(t.Hits+t.Stale) / float64(reads)
}

func (t Totals) minus(o Totals) Totals {
	return Totals{t.Hits - o.Hits, t.Misses - o.Misses, t.Stale - o.Stale, t.Sets - o.Sets, t.Errors - o.Errors}
}

// Snapshot returns the totals so far, by "alias/layer".
func (m *Metrics) Snapshot() map[string]Totals {
	out := map[string]Totals{}
	if m == nil {
		return out
	}
	m.counts.mu.Lock()
	defer m.counts.mu.Unlock()
	for k, v := range m.counts.m {
		out[k.alias+"/"+string(k.layer)] = Totals{v[0].Load(), v[1].Load(), v[2].Load(), v[3].Load(), v[4].Load()}
	}
	return out
}
