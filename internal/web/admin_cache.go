package web

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"

	"example.com/shop/internal/cache"
	"example.com/shop/internal/cache/backend"
	"example.com/shop/internal/cache/monitor"
	"example.com/shop/internal/db"
	"example.com/shop/internal/warm"
	"github.com/labstack/echo/v4"
)

// The admin's cache page (/admin/cache): what the caches are doing (hit
// rates over the last hour, the consistency sampler's figure, Redis' own
// figures, the memory store, the circuit breakers, a sample of the keys) and what an admin can do to them
// (flush an alias, invalidate a tag, warm).

// CachePage is the data of /admin/cache.
type CachePage struct {
	Store    string
	Layers   []LayerState
	Aliases  []AliasRow
	Trusted  bool
	Breakers map[string]bool
	ByLayer  []TotalsRow // since the start
	ByAlias  []TotalsRow
	Chart    Chart
	// Latency charts lookups and loads over the hour; LatencyRows has
	// the figures since the start.
	Latency     []LatencyChart
	LatencyRows []LatencyRow
	Redis       []monitor.NodeInfo
	RedisErr    string
	Memory      *backend.MemoryInfo
	Pattern     string
	// AnalyzeHelp says what "Analyze a sample" does on the store in use;
	// CanAnalyze is false when the store cannot list its keys.
	AnalyzeHelp string
	CanAnalyze  bool
	Keys        *monitor.KeyReport
	KeysErr     string
	Warm        WarmStatus
	Done        string // what the last action did
	// Consistency is what the consistency sampler found.
	Consistency ConsistencyView
}

// ConsistencyView is the consistency sampler's report, with its figures
// written for the page.
type ConsistencyView struct {
	monitor.ConsistencyReport
	Every             string // the share of hits checked: "one hit in 1000"
	LastAge, LastSeen string // the last mismatch's entry age, and how long ago it was found
}

func consistencyView(r monitor.ConsistencyReport, now time.Time) ConsistencyView {
	v := ConsistencyView{ConsistencyReport: r, Every: "every hit"}
	if r.Share < 1 && r.Share > 0 {
		v.Every = fmt.Sprintf("one hit in %.0f", 1/r.Share)
	}
	if r.Last != nil {
		v.LastAge = r.Last.Age.Round(time.Second).String()
		v.LastSeen = now.Sub(r.Last.At).Round(time.Second).String()
	}
	return v
}

// AliasRow describes an alias.
type AliasRow struct {
	Name, Prefix string
	TTL          time.Duration
}

// TotalsRow is a line of a totals table.
type TotalsRow struct {
	Name string
	monitor.Totals
}

// Chart is the hit-rate chart, as SVG coordinates: one line per layer.
type Chart struct {
	Width, Height int
	Lines         []ChartLine
	From, To      time.Time
}

// ChartLine is one layer's hit rate over time.
type ChartLine struct {
	Name   string
	Color  string
	Points string // "x,y x,y …"
	Last   float64
}

// RedisFields returns the INFO fields the page shows.
func RedisFields() []string {
	return []string{"redis_version", "used_memory_human", "used_memory_peak_human", "maxmemory_human", "maxmemory_policy",
		"connected_clients", "total_commands_processed", "instantaneous_ops_per_sec", "keyspace_hits", "keyspace_misses", "evicted_keys", "expired_keys"}
}

var layerColors = map[cache.Layer]string{
	cache.LayerHTTP: "#8a5a00", cache.LayerPage: "#1f5f5b", cache.LayerFragment: "#c8553d", cache.LayerQuery: "#3d6ec8",
	cache.LayerAggregate: "#7d3dc8", cache.LayerSession: "#2e7d4f", cache.LayerObject: "#666",
}

// WarmStatus is the state of the admin's warm-up.
type WarmStatus struct {
	Running     bool
	Done, Total int
	Summary     string
	Error       string
}

// warmJob runs one warm-up at a time for the admin page.
type warmJob struct {
	mu     sync.Mutex
	status WarmStatus
}

func (j *warmJob) get() WarmStatus {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.status
}

// start warms in the background through shop, the routes (the warm-up
// sends GET requests only), unless a warm-up is already running.
func (j *warmJob) start(shop http.Handler, svc Services, logger *slog.Logger) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.status.Running {
		return false
	}
	// On the services' context, which their Close cancels: a shop that
	// shuts down does not wait half an hour for a warm-up.
	started := svc.jobs.Go(func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
		defer cancel()
		sum, err := warm.Run(ctx, shop, db.New(svc.Pool), warm.Options{
			Home: true, Categories: true, Products: true, Concurrency: 4, Logger: logger,
			OnProgress: func(done, total int) {
				j.mu.Lock()
				j.status.Done, j.status.Total = done, total
				j.mu.Unlock()
			},
		})
		svc.Metrics.Warmed(sum, err)
		// Its pages are not access-logged: this line stands for them.
		logger.Info("warmed the caches", "pages", sum.Pages, "keys", sum.Keys, "bytes", sum.Bytes, "errors", sum.Errors,
			"took", sum.Took.Round(time.Millisecond), "by", "admin")
		j.mu.Lock()
		defer j.mu.Unlock()
		j.status.Running, j.status.Summary = false, sum.String()
		if err != nil {
			j.status.Error = err.Error()
		}
	})
	if !started {
		j.status = WarmStatus{Error: "the shop is shutting down"}
	}
	return started
}

func handleAdminCache(svc Services, job *warmJob) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		caches := svc.Caches
		page := CachePage{
			Store: caches.Config.Store, Trusted: caches.Tags.Trusted(), Breakers: caches.Breakers(),
			Memory: nil, Warm: job.get(), Done: c.QueryParam("done"),
		}
		for _, l := range cache.Layers() {
			a := caches.Default
			if l == cache.LayerSession {
				a = caches.Sessions
			}
			page.Layers = append(page.Layers, LayerState{Name: l, On: a.Enabled(l)})
		}
		for _, a := range []*cache.Alias{caches.Default, caches.LongTerm, caches.Sessions} {
			page.Aliases = append(page.Aliases, AliasRow{Name: a.Name(), Prefix: a.Prefix(), TTL: a.TTL()})
		}
		if caches.Memory != nil {
			info := caches.Memory.Info()
			page.Memory = &info
		}
		if svc.Metrics != nil {
			page.ByLayer, page.ByAlias = totals(svc.Metrics.Cache.Snapshot())
			page.LatencyRows = latencyRows(svc.Metrics.Cache.Latency())
		}
		if svc.Sampler != nil {
			samples := svc.Sampler.Samples()
			page.Chart = chart(samples)
			page.Latency = latencyCharts(samples)
		}
		page.Consistency = consistencyView(monitor.ConsistencyOf(caches).Report(), time.Now())
		page.AnalyzeHelp, page.CanAnalyze = analyzeHelp(caches.Config.Store)
		if caches.Redis != nil {
			rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			nodes, err := monitor.RedisInfo(rctx, caches.Redis)
			cancel()
			if err != nil {
				page.RedisErr = err.Error()
			}
			page.Redis = nodes
		}
		page.Pattern = strings.TrimSpace(c.QueryParam("pattern"))
		if c.QueryParam("analyze") == "1" && page.CanAnalyze {
			kctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			rep, err := monitor.AnalyzeKeys(kctx, caches, page.Pattern, 1000)
			cancel()
			if err != nil {
				page.KeysErr = err.Error()
			} else {
				page.Keys = &rep
			}
		}
		if page.Warm.Running {
			// The page refreshes itself while a warm-up runs (no script).
			c.Response().Header().Set("Refresh", "2")
		}
		return c.Render(http.StatusOK, "admin_cache", page)
	}
}

// totals sums the metrics' snapshot by layer and by alias.
func totals(snap map[string]monitor.Totals) (byLayer, byAlias []TotalsRow) {
	layers, aliases := map[string]monitor.Totals{}, map[string]monitor.Totals{}
	for k, v := range snap {
		alias, layer, _ := strings.Cut(k, "/")
		layers[layer] = sum(layers[layer], v)
		aliases[alias] = sum(aliases[alias], v)
	}
	rows := func(m map[string]monitor.Totals) []TotalsRow {
		var out []TotalsRow
		for n, t := range m {
			out = append(out, TotalsRow{n, t})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
		return out
	}
	return rows(layers), rows(aliases)
}

func sum(a, b monitor.Totals) monitor.Totals {
	return monitor.Totals{Hits: a.Hits + b.Hits, Misses: a.Misses + b.Misses, Stale: a.Stale + b.Stale, Sets: a.Sets + b.Sets, Errors: a.Errors + b.Errors}
}

// chart lays the samples out as one line per layer, hit rate (0 to 100%)
// against time.
func chart(samples []monitor.Sample) Chart {
	ch := Chart{Width: 720, Height: 200}
	if len(samples) < 2 {
		return ch
	}
	ch.From, ch.To = samples[0].At, samples[len(samples)-1].At
	for _, l := range cache.Layers() {
		var b strings.Builder
		line := ChartLine{Name: string(l), Color: layerColors[l]}
		seen := false
		for i, s := range samples {
			t := s.ByLayer[l]
			if t.Hits+t.Misses+t.Stale+t.Errors == 0 {
				continue
			}
			seen = true
			x := float64(i) * float64(ch.Width) / float64(len(samples)-1)
			y := float64(ch.Height) * (1 - t.HitRate()/100)
			fmt.Fprintf(&b, "%.1f,%.1f ", x, y)
			line.Last = t.HitRate()
		}
		if seen {
			line.Points = strings.TrimSpace(b.String())
			ch.Lines = append(ch.Lines, line)
		}
	}
	return ch
}

// LatencyChart is a latency chart of the sampled hour, on a logarithmic
// scale: for each layer its median (solid) and 99th percentile (dashed).
type LatencyChart struct {
	Title         string
	Width, Height int
	Grid          []GridLine
	Lines         []LatencyLine
	From, To      time.Time
}

// GridLine is a horizontal line of a chart, with its label.
type GridLine struct {
	Y, LabelY float64
	Label     string
}

// LatencyLine is one layer's latency over time.
type LatencyLine struct {
	Name, Color string
	P50, P99    string // "x,y …"
	// LastP50 and LastP99 are those of the last interval that had any.
	LastP50, LastP99 string
}

// LatencyRow is a layer's latency since the start.
type LatencyRow struct {
	Name                                   string
	Lookups, Loads                         int64
	LookupP50, LookupP99, LoadP50, LoadP99 string
}

// latencyCharts lays the samples out as two charts: the layers' lookups,
// and their loads on a miss.
func latencyCharts(samples []monitor.Sample) []LatencyChart {
	if len(samples) < 2 {
		return nil
	}
	lookups := func(l monitor.Latency) (int64, time.Duration, time.Duration) {
		return l.Lookups, l.LookupP50, l.LookupP99
	}
	loads := func(l monitor.Latency) (int64, time.Duration, time.Duration) { return l.Loads, l.LoadP50, l.LoadP99 }
	var out []LatencyChart
	for _, k := range []struct {
		title string
		of    func(monitor.Latency) (int64, time.Duration, time.Duration)
	}{{"Cache lookups (a read of the store, hit or miss)", lookups}, {"Loads on a miss (what the cache saves)", loads}} {
		if ch := latencyChart(k.title, samples, k.of); len(ch.Lines) > 0 {
			out = append(out, ch)
		}
	}
	return out
}

func latencyChart(title string, samples []monitor.Sample, of func(monitor.Latency) (int64, time.Duration, time.Duration)) LatencyChart {
	ch := LatencyChart{Title: title, Width: 720, Height: 200, From: samples[0].At, To: samples[len(samples)-1].At}
	// The scale: whole decades around every figure.
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range samples {
		for _, l := range s.Latency {
			if n, p50, p99 := of(l); n > 0 {
				lo = min(lo, math.Log10(float64(max(p50, time.Microsecond))))
				hi = max(hi, math.Log10(float64(max(p99, time.Microsecond))))
			}
		}
	}
	if math.IsInf(lo, 1) {
		return ch
	}
	lo, hi = math.Floor(lo), math.Ceil(hi)
	if hi <= lo {
		hi = lo + 1
	}
	y := func(d time.Duration) float64 {
		return float64(ch.Height) * (1 - (math.Log10(float64(max(d, time.Microsecond)))-lo)/(hi-lo))
	}
	for e := lo; e <= hi; e++ {
		d := time.Duration(math.Pow(10, e))
		ch.Grid = append(ch.Grid, GridLine{Y: y(d), LabelY: max(y(d)-3, 10), Label: decadeText(d)})
	}
	for _, layer := range cache.Layers() {
		var p50, p99 strings.Builder
		line := LatencyLine{Name: string(layer), Color: layerColors[layer]}
		for i, s := range samples {
			n, m, q := of(s.Latency[layer])
			if n == 0 {
				continue
			}
			x := float64(i) * float64(ch.Width) / float64(len(samples)-1)
			fmt.Fprintf(&p50, "%.1f,%.1f ", x, y(m))
			fmt.Fprintf(&p99, "%.1f,%.1f ", x, y(q))
			line.LastP50, line.LastP99 = latencyText(m), latencyText(q)
		}
		if p50.Len() > 0 {
			line.P50, line.P99 = strings.TrimSpace(p50.String()), strings.TrimSpace(p99.String())
			ch.Lines = append(ch.Lines, line)
		}
	}
	return ch
}

// latencyRows lists the layers' latency since the start, in the order
// of cache.Layers().
func latencyRows(byLayer map[cache.Layer]monitor.Latency) []LatencyRow {
	var out []LatencyRow
	for _, layer := range cache.Layers() {
		l, ok := byLayer[layer]
		if !ok {
			continue
		}
		out = append(out, LatencyRow{
			Name: string(layer), Lookups: l.Lookups, Loads: l.Loads,
			LookupP50: latencyText(l.LookupP50), LookupP99: latencyText(l.LookupP99),
			LoadP50: latencyText(l.LoadP50), LoadP99: latencyText(l.LoadP99),
		})
	}
	return out
}

// latencyText writes a duration with two or three figures: 85 µs, 1.25 ms,
// 240 ms, 1.5 s; a dash for none.
func latencyText(d time.Duration) string {
	switch {
	case d <= 0:
		return "–"
	case d < time.Millisecond:
		return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

// decadeText writes a power of ten of a duration: 10 µs, 1 ms, 10 s.
func decadeText(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%d µs", d/time.Microsecond)
	case d < time.Second:
		return fmt.Sprintf("%d ms", d/time.Millisecond)
	}
	return fmt.Sprintf("%d s", d/time.Second)
}

// analyzeHelp says what "Analyze a sample" does on a store, and whether
// it can do it at all.
func analyzeHelp(store string) (string, bool) {
	switch store {
	case "redis":
		return "Scans at most 1,000 matching keys with SCAN (never KEYS, which blocks Redis) and measures each with MEMORY USAGE.", true
	case "tiered":
		return "Scans at most 1,000 matching keys of the Redis tier with SCAN (never KEYS) and measures each with MEMORY USAGE; " +
			"the memory tier holds copies of some of them.", true
	case "memory":
		return "Lists at most 1,000 matching keys of this process's memory store and sizes each as the bytes of its key and value. " +
			"Other instances of the shop have memory stores of their own.", true
	case "memcached":
		return "memcached cannot list its keys, so there is no sample to analyze.", false
	}
	return "The cache is off (CACHE_STORE=none): there are no keys.", false
}

func handleAdminCacheFlush(svc Services) echo.HandlerFunc {
	return func(c echo.Context) error {
		a := svc.Caches.Alias(c.FormValue("alias"))
		if a == nil {
			return echo.NewHTTPError(http.StatusUnprocessableEntity, "alias must be default, long_term or sessions")
		}
		if err := a.Flush(c.Request().Context()); err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, "/admin/cache?done="+url.QueryEscape("flushed the "+a.Name()+" alias"))
	}
}

// handleAdminCacheInvalidate bumps the generation of one tag, such as
// "product:42": every entry that depends on it is a miss from now on.
func handleAdminCacheInvalidate(svc Services) echo.HandlerFunc {
	return func(c echo.Context) error {
		tag := strings.TrimSpace(c.FormValue("tag"))
		if tag == "" || len(tag) > 200 || strings.IndexFunc(tag, func(r rune) bool { return !unicode.IsPrint(r) || r == ' ' }) >= 0 {
			return echo.NewHTTPError(http.StatusUnprocessableEntity, "give a tag like product:42, without spaces, up to 200 characters")
		}
		if err := svc.Caches.Tags.Invalidate(c.Request().Context(), tag); err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, "/admin/cache?done="+url.QueryEscape("invalidated "+tag))
	}
}

func handleAdminCacheWarm(svc Services, job *warmJob, shop http.Handler, logger *slog.Logger) echo.HandlerFunc {
	return func(c echo.Context) error {
		if svc.Caches.Default.Off() {
			return echo.NewHTTPError(http.StatusConflict, "the cache is off (CACHE_STORE=none): there is nothing to warm")
		}
		msg := "started warming"
		if !job.start(shop, svc, logger) {
			msg = "a warm-up is already running"
		}
		return c.Redirect(http.StatusSeeOther, "/admin/cache?done="+url.QueryEscape(msg))
	}
}
