package monitor

import (
	"testing"
	"time"

	"example.com/shop/internal/cache"
	"github.com/prometheus/client_golang/prometheus"
)

// TestLatencyPercentiles: the percentiles read from the buckets are within
// their width (25%) of the exact ones, interval by interval.
func TestLatencyPercentiles(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry())
	s := NewSampler(m, time.Hour, 10)
	// 1000 lookups of 100 µs to 1.099 ms (median 600 µs, p99 1.09 ms), and
	// a few loads of 40 ms.
	for i := range 1000 {
		m.Op(cache.Op{Alias: "default", Layer: cache.LayerQuery, Outcome: cache.Hit, Took: 100*time.Microsecond + time.Duration(i)*time.Microsecond})
	}
	for range 5 {
		m.Loaded("default", cache.LayerQuery, 40*time.Millisecond)
	}
	s.Take(time.Now())
	m.Op(cache.Op{Alias: "default", Layer: cache.LayerPage, Outcome: cache.Miss, Took: 3 * time.Millisecond})
	s.Take(time.Now())

	near := func(got, want time.Duration) bool {
		return float64(got) >= 0.75*float64(want) && float64(got) <= 1.25*float64(want)
	}
	samples := s.Samples()
	q := samples[0].Latency[cache.LayerQuery]
	if q.Lookups != 1000 || !near(q.LookupP50, 600*time.Microsecond) || !near(q.LookupP99, 1090*time.Microsecond) {
		t.Errorf("query lookups: %d, p50 %s, p99 %s; want 1000, about 600µs and 1.09ms", q.Lookups, q.LookupP50, q.LookupP99)
	}
	if q.Loads != 5 || !near(q.LoadP50, 40*time.Millisecond) || !near(q.LoadP99, 40*time.Millisecond) {
		t.Errorf("query loads: %d, p50 %s, p99 %s; want 5 of about 40ms", q.Loads, q.LoadP50, q.LoadP99)
	}
	if _, ok := samples[1].Latency[cache.LayerQuery]; ok {
		t.Error("the second interval shows query latency though no query was timed in it")
	}
	if p := samples[1].Latency[cache.LayerPage]; p.Lookups != 1 || !near(p.LookupP99, 3*time.Millisecond) {
		t.Errorf("page lookups of the second interval: %+v", p)
	}
	if all := m.Latency()[cache.LayerQuery]; all.Lookups != 1000 || all.Loads != 5 {
		t.Errorf("since the start: %+v", all)
	}
	if got := bucketOf(time.Hour); got != latencyBuckets-1 {
		t.Errorf("an hour is in bucket %d, want the last", got)
	}
}
