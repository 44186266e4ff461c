package cache

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the process-wide figures of every Alias, for Prometheus.
// A nil *Metrics records nothing.
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

func (m *Metrics) op(alias string, layer Layer, o Outcome) {
	if m != nil {
		m.ops.WithLabelValues(alias, string(layer), string(o)).Inc()
		m.counts.add(alias, layer, o)
	}
}

// Revalidated counts a conditional request of the HTTP layer: answered
// 304 (a hit) or with the whole response (a miss).
func (m *Metrics) Revalidated(hit bool) {
	o := Miss
	if hit {
		o = Hit
	}
	m.op("http", LayerHTTP, o)
}

func (m *Metrics) call(alias, op string, took time.Duration) {
	if m != nil {
		m.latency.WithLabelValues(alias, op).Observe(took.Seconds())
	}
}

func (m *Metrics) moved(alias string, layer Layer, direction string, n int) {
	if m != nil && n > 0 {
		m.bytes.WithLabelValues(alias, string(layer), direction).Add(float64(n))
	}
}

func (m *Metrics) loaded(alias string, layer Layer, took time.Duration) {
	if m != nil {
		m.loads.WithLabelValues(alias, string(layer)).Observe(took.Seconds())
		m.lat.observe(layer, loadTime, took)
	}
}

func (m *Metrics) refreshed(alias string, layer Layer, kind string) {
	if m != nil {
		m.refresh.WithLabelValues(alias, string(layer), kind).Inc()
	}
}

func (m *Metrics) coalesced(alias string, layer Layer, how string) {
	if m != nil {
		m.coalesce.WithLabelValues(alias, string(layer), how).Inc()
	}
}

func (m *Metrics) consistencyChecked(alias string, layer Layer, family string, v Verdict) {
	if m != nil {
		m.checks.WithLabelValues(alias, string(layer), family, v.String()).Inc()
	}
}

func (m *Metrics) consistencyDropped(reason string) {
	if m != nil {
		m.dropped.WithLabelValues(reason).Inc()
	}
}

func (m *Metrics) breakerOpen(store string, open bool) {
	if m != nil {
		v := 0.0
		if open {
			v = 1
		}
		m.breaker.WithLabelValues(store).Set(v)
	}
}

// counts are the in-process totals behind the admin page's figures, by
// alias and layer: Prometheus keeps the same in its own registry, for
// scraping.
type counts struct {
	mu sync.Mutex
	m  map[countKey]*[5]atomic.Int64 // hit, miss, stale, set, error
}

type countKey struct {
	alias string
	layer Layer
}

var outcomeIndex = map[Outcome]int{Hit: 0, Miss: 1, Stale: 2, Stored: 3, Failed: 4}

func (c *counts) add(alias string, layer Layer, o Outcome) {
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
