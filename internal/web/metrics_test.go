package web_test

import (
	"crypto/rand"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestMetricsSeriesBounded: what a client sends cannot grow /metrics.
// Requests with 1,000 made-up methods, to made-up paths and to real routes,
// leave every metric with as many series after the first few hundred as
// after the thousand, and the request metric's labels within their sets.
func TestMetricsSeriesBounded(t *testing.T) {
	t.Parallel()
	shop := newTestShop(t)
	c := shop.client()
	c.get("/") // the series a normal visit makes
	series := func() map[string]int {
		families, err := shop.svc.Metrics.Registry.Gather()
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int{}
		for _, f := range families {
			out[f.GetName()] = len(f.GetMetric())
		}
		return out
	}
	send := func(i int) {
		// Methods as a client may spell them: made up, or a standard one in
		// the wrong case. Paths: made up, a route's pattern with made-up
		// parameters, a plain route.
		method := "Z" + rand.Text()[:8]
		if i%4 == 0 {
			method = strings.ToLower(http.MethodGet)
		}
		path := "/" + rand.Text()
		switch i % 3 {
		case 1:
			path = "/products/" + rand.Text()
		case 2:
			path = "/"
		}
		req, err := http.NewRequest(method, shop.url+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		c.do(req)
	}
	const requests = 1000
	for i := range requests / 4 {
		send(i)
	}
	early := series()
	for i := requests / 4; i < requests; i++ {
		send(i)
	}
	late := series()
	for name, n := range late {
		if n > early[name] {
			t.Errorf("%s: %d series after %d requests with made-up methods and paths, %d after %d", name, n, requests, early[name], requests/4)
		}
		if n > 100 {
			t.Errorf("%s has %d series", name, n)
		}
	}

	// Every label of the request metric takes its values from a set the
	// shop knows.
	families, err := shop.svc.Metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	methods := []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE", "other"}
	routes := []string{"/", "/products/:id", "unmatched"} // the patterns of the routes asked for
	for _, f := range families {
		if f.GetName() != "shop_http_request_duration_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				v := l.GetValue()
				ok := true
				switch l.GetName() {
				case "method":
					ok = slices.Contains(methods, v)
				case "route":
					ok = slices.Contains(routes, v)
				case "status":
					code, err := strconv.Atoi(v)
					ok = err == nil && http.StatusText(code) != ""
				case "x_cache":
					ok = slices.Contains([]string{"HIT", "MISS", "STALE", "BYPASS"}, v)
				}
				if !ok {
					t.Errorf("the request metric has %s=%q", l.GetName(), v)
				}
			}
		}
	}
	t.Logf("%d requests with made-up methods and paths: %d request series", requests, late["shop_http_request_duration_seconds"])
}
