package monitor

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"example.com/shop/internal/cache"
)

// Latency is how long a layer's cache lookups took (a read of the store
// and of the generations, hit or miss) and the loads that filled it on a
// miss: how many, their median and their 99th percentile. The percentiles
// are estimated from buckets 25% wide, so they are within 25% of the
// truth. A count of zero: nothing of that kind, and zero percentiles.
type Latency struct {
	Lookups, Loads       int64
	LookupP50, LookupP99 time.Duration
	LoadP50, LoadP99     time.Duration
}

// The buckets of the latency histograms: the first holds everything up to
// latencyBase, each next one reaches 25% further, and the last, at about
// 12 s, everything slower.
const (
	latencyBase    = 10 * time.Microsecond
	latencyGrowth  = 1.25
	latencyBuckets = 64
)

type buckets [latencyBuckets]int64

func bucketOf(d time.Duration) int {
	if d <= latencyBase {
		return 0
	}
	i := int(math.Ceil(math.Log(float64(d)/float64(latencyBase)) / math.Log(latencyGrowth)))
	return min(i, latencyBuckets-1)
}

// bucketTop is the upper bound of bucket i.
func bucketTop(i int) float64 { return float64(latencyBase) * math.Pow(latencyGrowth, float64(i)) }

// quantile estimates the q-quantile of the n durations counted in b, by
// interpolating inside the bucket it falls in.
func (b *buckets) quantile(n int64, q float64) time.Duration {
	if n == 0 {
		return 0
	}
	rank := q * float64(n)
	var seen float64
	for i, c := range b {
		if c == 0 {
			continue
		}
		if seen+float64(c) >= rank {
			lo := 0.0
			if i > 0 {
				lo = bucketTop(i - 1)
			}
			return time.Duration(lo + (bucketTop(i)-lo)*(rank-seen)/float64(c))
		}
		seen += float64(c)
	}
	return time.Duration(bucketTop(latencyBuckets - 1))
}

func (b *buckets) minus(o *buckets) *buckets {
	out := new(buckets)
	for i := range b {
		out[i] = b[i]
		if o != nil {
			out[i] -= o[i]
		}
	}
	return out
}

// latencyKind is what a latency histogram times.
type latencyKind int

const (
	lookupTime latencyKind = iota
	loadTime
)

type latencyKey struct {
	layer cache.Layer
	kind  latencyKind
}

// latencies are the in-process histograms behind the admin page's latency
// chart, by layer; Prometheus has its own (by alias and call) for scraping.
type latencies struct {
	mu sync.Mutex
	m  map[latencyKey]*[latencyBuckets]atomic.Int64
}

func (l *latencies) observe(layer cache.Layer, kind latencyKind, d time.Duration) {
	k := latencyKey{layer, kind}
	l.mu.Lock()
	h := l.m[k]
	if h == nil {
		if l.m == nil {
			l.m = map[latencyKey]*[latencyBuckets]atomic.Int64{}
		}
		h = new([latencyBuckets]atomic.Int64)
		l.m[k] = h
	}
	l.mu.Unlock()
	h[bucketOf(d)].Add(1)
}

// snapshot returns the counts so far.
func (l *latencies) snapshot() map[latencyKey]*buckets {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[latencyKey]*buckets, len(l.m))
	for k, h := range l.m {
		b := new(buckets)
		for i := range h {
			b[i] = h[i].Load()
		}
		out[k] = b
	}
	return out
}

// latencyByLayer turns the counts since prev (nil: since the start) into
// each layer's figures.
func latencyByLayer(cur, prev map[latencyKey]*buckets) map[cache.Layer]Latency {
	out := map[cache.Layer]Latency{}
	for k, b := range cur {
		d := b.minus(prev[k])
		var n int64
		for _, c := range d {
			n += c
		}
		if n == 0 {
			continue
		}
		l := out[k.layer]
		switch k.kind {
		case lookupTime:
			l.Lookups, l.LookupP50, l.LookupP99 = n, d.quantile(n, 0.5), d.quantile(n, 0.99)
		case loadTime:
			l.Loads, l.LoadP50, l.LoadP99 = n, d.quantile(n, 0.5), d.quantile(n, 0.99)
		}
		out[k.layer] = l
	}
	return out
}

func (m *Metrics) latencySnapshot() map[latencyKey]*buckets {
	if m == nil {
		return nil
	}
	return m.lat.snapshot()
}

// Latency returns each layer's lookup and load times since the start.
func (m *Metrics) Latency() map[cache.Layer]Latency {
	return latencyByLayer(m.latencySnapshot(), nil)
}
