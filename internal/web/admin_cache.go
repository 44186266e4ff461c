package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"

	"example.com/shop/internal/cache"
	"example.com/shop/internal/db"
	"example.com/shop/internal/warm"
	"github.com/labstack/echo/v4"
)

// The admin's cache page (/admin/cache): what the caches are doing (hit
// rates over the last hour, Redis' own figures, the memory store, the
// circuit breakers, a sample of the keys) and what an admin can do to them
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
	Redis    []cache.NodeInfo
	RedisErr string
	Memory   *cache.MemoryInfo
	Pattern  string
	Keys     *cache.KeyReport
	KeysErr  string
	Warm     WarmStatus
	Done     string // what the last action did
}

// AliasRow describes an alias.
type AliasRow struct {
	Name, Prefix string
	TTL          time.Duration
}

// TotalsRow is a line of a totals table.
type TotalsRow struct {
	Name string
	cache.Totals
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

// RedisFields are the INFO fields the page shows.
var RedisFields = []string{"redis_version", "used_memory_human", "used_memory_peak_human", "maxmemory_human", "maxmemory_policy",
	"connected_clients", "total_commands_processed", "instantaneous_ops_per_sec", "keyspace_hits", "keyspace_misses", "evicted_keys", "expired_keys"}

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

// start warms in the background, unless a warm-up is already running.
func (j *warmJob) start(shop func() http.Handler, svc Services, logger *slog.Logger) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.status.Running {
		return false
	}
	j.status = WarmStatus{Running: true}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
		defer cancel()
		sum, err := warm.Run(ctx, shop(), db.New(svc.Pool), warm.Options{
			Home: true, Categories: true, Products: true, Concurrency: 4, Logger: logger,
			OnProgress: func(done, total int) {
				j.mu.Lock()
				j.status.Done, j.status.Total = done, total
				j.mu.Unlock()
			},
		})
		svc.Metrics.Warmed(sum, err)
		j.mu.Lock()
		defer j.mu.Unlock()
		j.status.Running, j.status.Summary = false, sum.String()
		if err != nil {
			j.status.Error = err.Error()
		}
	}()
	return true
}

func handleAdminCache(svc Services, job *warmJob) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		caches := svc.Caches
		page := CachePage{
			Store: caches.Config.Store, Trusted: caches.Tags.Trusted(), Breakers: caches.Breakers(),
			Memory: nil, Warm: job.get(), Done: c.QueryParam("done"),
		}
		for _, l := range cache.Layers {
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
		}
		if svc.Sampler != nil {
			page.Chart = chart(svc.Sampler.Samples())
		}
		if caches.Redis != nil {
			rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			nodes, err := cache.RedisInfo(rctx, caches.Redis)
			cancel()
			if err != nil {
				page.RedisErr = err.Error()
			}
			page.Redis = nodes
		}
		page.Pattern = strings.TrimSpace(c.QueryParam("pattern"))
		if c.QueryParam("analyze") == "1" {
			if page.Pattern == "" {
				page.Pattern = caches.Config.Prefix + ":*"
			}
			kctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			rep, err := cache.AnalyzeKeys(kctx, caches.Default.Store(), page.Pattern, 1000)
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
func totals(snap map[string]cache.Totals) (byLayer, byAlias []TotalsRow) {
	layers, aliases := map[string]cache.Totals{}, map[string]cache.Totals{}
	for k, v := range snap {
		alias, layer, _ := strings.Cut(k, "/")
		layers[layer] = sum(layers[layer], v)
		aliases[alias] = sum(aliases[alias], v)
	}
	rows := func(m map[string]cache.Totals) []TotalsRow {
		var out []TotalsRow
		for n, t := range m {
			out = append(out, TotalsRow{n, t})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
		return out
	}
	return rows(layers), rows(aliases)
}

func sum(a, b cache.Totals) cache.Totals {
	return cache.Totals{Hits: a.Hits + b.Hits, Misses: a.Misses + b.Misses, Stale: a.Stale + b.Stale, Sets: a.Sets + b.Sets, Errors: a.Errors + b.Errors}
}

// chart lays the samples out as one line per layer, hit rate (0 to 100%)
// against time.
func chart(samples []cache.Sample) Chart {
	ch := Chart{Width: 720, Height: 200}
	if len(samples) < 2 {
		return ch
	}
	ch.From, ch.To = samples[0].At, samples[len(samples)-1].At
	for _, l := range cache.Layers {
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

func handleAdminCacheWarm(svc Services, job *warmJob, shop func() http.Handler, logger *slog.Logger) echo.HandlerFunc {
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
