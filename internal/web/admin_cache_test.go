package web_test

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestAdminCacheLatency: after some traffic, /admin/cache charts each
// layer's lookup and load latency over the sampled intervals (median solid,
// 99th percentile dashed), from the same samples as the hit-rate chart,
// and tabulates the figures since the start. Its key analysis says what it
// does on the store in use.
func TestAdminCacheLatency(t *testing.T) {
	t.Parallel()
	shop := newTestShop(t)
	admin := shop.client()
	admin.login("admin@shop.test")
	pages := anonPages(shop)
	visit := func() {
		anon := shop.client()
		for _, p := range pages {
			anon.get(p)
			anon.get(p)
		}
	}
	start := time.Now()
	visit()
	shop.svc.Sampler.Take(start.Add(10 * time.Second))
	visit()
	shop.svc.Sampler.Take(start.Add(20 * time.Second))

	r := admin.get("/admin/cache")
	if r.status != 200 {
		t.Fatalf("admin page: %d", r.status)
	}
	section := r.body[strings.Index(r.body, "<h2>Latency, last hour</h2>"):]
	section = section[:strings.Index(section, "</section>")]
	for _, want := range []string{"Cache lookups", "Loads on a miss", `stroke-dasharray`, "Since the start"} {
		if !strings.Contains(section, want) {
			t.Errorf("the latency section lacks %q:\n%s", want, section)
		}
	}
	// Each chart line's legend gives the last interval's figures, and the
	// table a row of figures per layer: the page layer both looked up
	// (every visit) and loaded (the first).
	legend := regexp.MustCompile(`page p50 \d+(\.\d+)? (µs|ms|s), p99 \d+(\.\d+)? (µs|ms|s)`)
	if n := len(legend.FindAllString(section, -1)); n != 2 {
		t.Errorf("%d legends give the page layer's p50 and p99, want 2 (lookups, loads):\n%s", n, section)
	}
	row := regexp.MustCompile(`<td>page</td><td class="num">([1-9]\d*)</td><td class="num">\d+(\.\d+)? (µs|ms|s)</td><td class="num">\d+(\.\d+)? (µs|ms|s)</td><td class="num">[1-9]\d*</td>`)
	if !row.MatchString(section) {
		t.Errorf("the table has no page row with lookups, their percentiles and loads:\n%s", section)
	}
	if polylines := strings.Count(section, "<polyline"); polylines < 4 {
		t.Errorf("%d lines in the latency charts, want a p50 and a p99 line per layer in each", polylines)
	}

	if !strings.Contains(r.body, "this process&#39;s memory store") || strings.Contains(r.body, "MEMORY USAGE") {
		t.Error("on the memory store the key analysis's help does not say what it does there")
	}
}
