package monitor

import (
	"context"
	"strings"
	"sync"
	"time"

	"example.com/shop/internal/cache"
)

// Sampler keeps the recent history of the cache's hit rates and latencies
// (the seed's CacheMonitoringMiddleware, over time): a point every
// interval, by layer and by alias, for the admin page's charts.
type Sampler struct {
	m     *Metrics
	every time.Duration
	keep  int

	mu      sync.Mutex
	last    map[string]Totals
	lastLat map[latencyKey]*buckets
	points  []Sample
}

// Sample is the traffic of one interval.
type Sample struct {
	At      time.Time
	ByLayer map[cache.Layer]Totals
	ByAlias map[string]Totals
	// Latency is each layer's lookup and load times in the interval
	// (layers with neither are left out).
	Latency map[cache.Layer]Latency
}

// NewSampler samples m every interval and keeps the last keep samples.
func NewSampler(m *Metrics, every time.Duration, keep int) *Sampler {
	return &Sampler{m: m, every: every, keep: keep, last: m.Snapshot(), lastLat: m.latencySnapshot()}
}

// Run samples until ctx ends.
func (s *Sampler) Run(ctx context.Context) {
	t := time.NewTicker(s.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s.Take(now)
		}
	}
}

// Take records the traffic since the last sample as the sample of now. Run
// calls it every interval; a test calls it to have samples at once.
func (s *Sampler) Take(now time.Time) {
	cur, lat := s.m.Snapshot(), s.m.latencySnapshot()
	p := Sample{At: now, ByLayer: map[cache.Layer]Totals{}, ByAlias: map[string]Totals{}}
	s.mu.Lock()
	defer s.mu.Unlock()
	p.Latency = latencyByLayer(lat, s.lastLat)
	s.lastLat = lat
	for k, v := range cur {
		d := v.minus(s.last[k])
		alias, layer, _ := strings.Cut(k, "/")
		p.ByLayer[cache.Layer(layer)] = add(p.ByLayer[cache.Layer(layer)], d)
		p.ByAlias[alias] = add(p.ByAlias[alias], d)
	}
	s.last = cur
	s.points = append(s.points, p)
	if len(s.points) > s.keep {
		s.points = s.points[len(s.points)-s.keep:]
	}
}

func add(a, b Totals) Totals {
	return Totals{a.Hits + b.Hits, a.Misses + b.Misses, a.Stale + b.Stale, a.Sets + b.Sets, a.Errors + b.Errors}
}

// Samples returns the samples kept, oldest first.
func (s *Sampler) Samples() []Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sample(nil), s.points...)
}
