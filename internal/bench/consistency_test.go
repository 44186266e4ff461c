package bench

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestConsistencyFigure: the benchmark reads the shop's consistency
// sampler from /metrics, phase by phase, and its summary gives the figure.
func TestConsistencyFigure(t *testing.T) {
	t.Parallel()
	checks := 0.0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, `# TYPE shop_cache_consistency_checks_total counter
shop_cache_consistency_checks_total{alias="default",family="product",layer="query",verdict="consistent"} %v
shop_cache_consistency_checks_total{alias="default",family="search",layer="query",verdict="within_bound"} 2
shop_cache_consistency_checks_total{alias="default",family="product",layer="query",verdict="mismatch"} 1
shop_cache_consistency_checks_total{alias="default",family="product",layer="query",verdict="changed"} 3
# TYPE shop_cache_consistency_dropped_total counter
shop_cache_consistency_dropped_total{reason="queue"} 4
shop_cache_consistency_dropped_total{reason="rate"} 5
`, checks)
	}))
	defer srv.Close()
	s := &shop{url: srv.URL}
	before, err := s.counters(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	checks = 997
	after, err := s.counters(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := after.consistency(), (Consistency{Checks: 1000, Mismatches: 1, WithinBound: 2, Changed: 3, Dropped: 9}); got != want {
		t.Errorf("since the start: %+v, want %+v", got, want)
	}
	if got, want := after.sub(before).consistency(), (Consistency{Checks: 997}); got != want {
		t.Errorf("over the phase: %+v, want %+v", got, want)
	}

	r := sampleReport()
	r.Consistency = after.consistency()
	want := "**Consistency sampler**: 1000 cache hits loaded again from the database and compared, 99.9% consistent: 1 mismatches, 2 within a declared staleness bound; 3 void"
	if md := Summary(r, ""); !strings.Contains(md, want) {
		t.Errorf("the summary lacks %q:\n%s", want, md)
	}
}
