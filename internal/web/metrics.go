package web

import (
	"net/http"
	"strconv"
	"time"

	"example.com/shop/internal/cache/monitor"
	"example.com/shop/internal/warm"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the shop's Prometheus metrics, served at /metrics: HTTP
// requests by route and status, SQL statements, cache operations by alias,
// layer and outcome (monitor.Metrics), invalidations by rule, warm-ups, and
// Go's own. Each shop has its own registry: nothing is global. Every
// label takes its values from a set the shop's code or configuration
// fixes (aliases, layers, outcomes, rule names, route patterns), never
// from what a request says: see request.
type Metrics struct {
	Registry *prometheus.Registry
	Cache    *monitor.Metrics

	requests   *prometheus.HistogramVec
	statements *prometheus.HistogramVec
	rules      *prometheus.HistogramVec
	warms      *prometheus.CounterVec
	warmed     *prometheus.CounterVec
}

// NewMetrics returns the metrics on a new registry.
func NewMetrics() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{
		Registry: reg,
		Cache:    monitor.NewMetrics(reg),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "shop_http_request_duration_seconds", Help: "HTTP requests by route, method, status and what the page cache did.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "method", "status", "x_cache"}),
		statements: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "shop_sql_statement_duration_seconds", Help: "SQL statements run by the shop, and their time.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
		}, []string{"outcome"}),
		rules: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "shop_invalidation_duration_seconds", Help: "Row changes invalidated, by table and outcome.",
			Buckets: []float64{.0001, .0005, .001, .005, .01, .05, .1},
		}, []string{"table", "outcome"}),
		warms: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shop_warm_runs_total", Help: "Cache warm-ups, by outcome.",
		}, []string{"outcome"}),
		warmed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shop_warm_pages_total", Help: "Pages requested by warm-ups, by outcome.",
		}, []string{"outcome"}),
	}
	reg.MustRegister(m.requests, m.statements, m.rules, m.warms, m.warmed)
	return m
}

// Statement records one SQL statement (db.Metrics).
func (m *Metrics) Statement(took time.Duration, failed bool) {
	outcome := "ok"
	if failed {
		outcome = "error"
	}
	m.statements.WithLabelValues(outcome).Observe(took.Seconds())
}

// Change records the invalidation of one row change of table
// (changes.Listener.Observe).
func (m *Metrics) Change(table string, err error, took time.Duration) {
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	m.rules.WithLabelValues(table, outcome).Observe(took.Seconds())
}

// Warmed records a warm-up.
func (m *Metrics) Warmed(s warm.Summary, err error) {
	if m == nil {
		return
	}
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	m.warms.WithLabelValues(outcome).Inc()
	m.warmed.WithLabelValues("ok").Add(float64(s.Pages - s.Errors))
	m.warmed.WithLabelValues("error").Add(float64(s.Errors))
}

// ChangesProcessed publishes how far the change listener has got:
// processed returns the last database change (shop_change_seq) whose
// invalidations this instance has run. Against the sequence it says how
// many changes from outside are yet to reach this instance's caches.
func (m *Metrics) ChangesProcessed(processed func() int64) {
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "shop_changes_processed", Help: "The last database change (shop_change_seq) whose invalidations this instance has run.",
	}, func() float64 { return float64(processed()) }))
}

// request records an HTTP request. Every label has a bounded set of
// values whatever a client sends, or a client could grow the registry (and
// the scraper's storage) without limit: the route is the matched route's
// pattern ("unmatched" for a 404), the method one of the standard ones or
// "other", the status a standard code or "other", and x_cache what the
// page cache did (cache.Stats.PageHeader).
func (m *Metrics) request(c echo.Context, took time.Duration, pageCache string) {
	status := c.Response().Status
	route := c.Path()
	if route == "" || route == "/*" || status == http.StatusNotFound {
		route = "unmatched"
	}
	m.requests.WithLabelValues(route, methodLabel(c.Request().Method), statusLabel(status), pageCache).Observe(took.Seconds())
}

// methodLabel returns method when it is one of HTTP's, and "other" for
// anything a client made up (methods are case-sensitive: "get" is one).
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "other"
}

// statusLabel returns status as a number when it is a standard code, and
// "other" for anything else.
func statusLabel(status int) string {
	if http.StatusText(status) == "" {
		return "other"
	}
	return strconv.Itoa(status)
}

// handler serves the metrics in Prometheus' text format.
func (m *Metrics) handler() echo.HandlerFunc {
	return echo.WrapHandler(promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry}))
}
