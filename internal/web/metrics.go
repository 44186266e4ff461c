package web

import (
	"net/http"
	"strconv"
	"time"

	"example.com/shop/internal/cache"
	"example.com/shop/internal/warm"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the shop's Prometheus metrics, served at /metrics: HTTP
// requests by route and status, SQL statements, cache operations by alias,
// layer and outcome (cache.Metrics), invalidations by rule, warm-ups, and
// Go's own. Each shop has its own registry: nothing is global.
type Metrics struct {
	Registry *prometheus.Registry
	Cache    *cache.Metrics

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
		Cache:    cache.NewMetrics(reg),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "shop_http_request_duration_seconds", Help: "HTTP requests by route, method, status and what the page cache did.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "method", "status", "x_cache"}),
		statements: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "shop_sql_statement_duration_seconds", Help: "SQL statements run by the shop, and their time.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
		}, []string{"outcome"}),
		rules: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "shop_invalidation_rule_duration_seconds", Help: "Invalidation rules run, by rule and outcome.",
			Buckets: []float64{.0001, .0005, .001, .005, .01, .05, .1},
		}, []string{"rule", "outcome"}),
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

// Rule records one run of an invalidation rule (events.Bus observer).
func (m *Metrics) Rule(rule string, err error, took time.Duration) {
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	m.rules.WithLabelValues(rule, outcome).Observe(took.Seconds())
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

// request records an HTTP request; the route is its pattern, so the
// number of series stays bounded whatever URLs are asked for.
func (m *Metrics) request(c echo.Context, took time.Duration) {
	route := c.Path()
	if route == "" || route == "/*" || c.Response().Status == http.StatusNotFound {
		route = "unmatched"
	}
	m.requests.WithLabelValues(route, c.Request().Method, strconv.Itoa(c.Response().Status),
		c.Response().Header().Get("X-Cache")).Observe(took.Seconds())
}

// handler serves the metrics in Prometheus' text format.
func (m *Metrics) handler() echo.HandlerFunc {
	return echo.WrapHandler(promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry}))
}
