package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"example.com/shop/internal/cache/monitor"
)

// Stem names the report's files: bench/results/<date>-scale<scale>.json,
// and so on.
func (r *Report) Stem() string { return stem(r) }

func stem(r *Report) string {
	s := r.Date.Format("2006-01-02") + "-scale" + strconv.FormatFloat(r.Scale, 'g', -1, 64)
	if r.Quick {
		s += "-quick"
	}
	return s
}

// write saves the report as JSON, Markdown and SVG plots in dir and
// returns the files' paths.
func write(r *Report, dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	base := filepath.Join(dir, stem(r))
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	paths := []string{base + ".json", base + ".md"}
	if err := os.WriteFile(paths[0], append(js, '\n'), 0o644); err != nil {
		return nil, err
	}
	plots, err := drawPlots(r, base)
	if err != nil {
		return nil, fmt.Errorf("plot: %w", err)
	}
	var rel []string
	for _, p := range plots {
		rel = append(rel, filepath.Base(p))
	}
	if err := os.WriteFile(paths[1], []byte(Markdown(r, rel)), 0o644); err != nil {
		return nil, err
	}
	return append(paths, plots...), nil
}

// Rewrite evaluates a report read from a run's JSON again and writes its
// Markdown and plots to dir: for a report whose wording changed since the
// run, without measuring again.
func Rewrite(r *Report, dir string) ([]string, error) {
	evaluate(r)
	return write(r, dir)
}

// Read loads a report written by a run.
func Read(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// evaluate compares the run with the benchmark's targets. The headline
// store is memory, the shop's default.
func evaluate(r *Report) {
	r.Targets = nil
	add := func(t Target) { r.Targets = append(r.Targets, t) }
	capRatio := func(mix string) (float64, bool) {
		off, on := r.capacity(Off().Name, mix), r.capacity(Memory().Name, mix)
		if off == nil || on == nil || off.Rate == 0 {
			return 0, false
		}
		return on.Rate / off.Rate, true
	}
	machineBound := func(mix string) string {
		on, hello := r.capacity(Memory().Name, mix), r.calibration(Calibration().Name)
		if on == nil || hello == nil || hello.Rate == 0 {
			return ""
		}
		share := on.Rate / hello.Rate
		if share < 0.5 {
			return ""
		}
		return fmt.Sprintf("The cache-on shop already serves %.0f%% of the rate of this machine's constant response (%.0f/s), where the load generator, the shop and PostgreSQL share the CPUs: the ratio is bounded by the machine, not by the cache.", 100*share, hello.Rate)
	}
	for _, t := range []struct{ mix, goal, claim string }{{Browse().Name, "≤ 0.02", "60–90% fewer"}, {Full().Name, "≤ 0.10", ""}} {
		c := r.comparison(t.mix, Memory().Name)
		if c == nil {
			continue
		}
		goal, _ := strconv.ParseFloat(strings.TrimPrefix(t.goal, "≤ "), 64)
		tg := Target{
			What: "SQL statements per request, " + t.mix + " mix, on / off", Goal: t.goal, Claim: t.claim,
			Value: c.SQLRatio, Measured: fmt.Sprintf("%.4f (%.1f%% fewer)", c.SQLRatio, 100*(1-c.SQLRatio)), Met: c.SQLRatio <= goal,
		}
		if !tg.Met {
			tg.Why = sqlWhy(c)
		}
		add(tg)
	}
	for _, t := range []struct {
		mix, claim string
		goal       float64
	}{{Browse().Name, "3–5x", 8}, {Full().Name, "", 5}} {
		v, ok := capRatio(t.mix)
		if !ok {
			continue
		}
		tg := Target{
			What: "capacity at the SLO, " + t.mix + " mix, on / off", Goal: fmt.Sprintf("≥ %gx", t.goal), Claim: t.claim,
			Value: v, Measured: fmt.Sprintf("%.1fx (%.0f against %.0f requests/s)", v, r.capacity(Memory().Name, t.mix).Rate, r.capacity(Off().Name, t.mix).Rate), Met: v >= t.goal,
		}
		if !tg.Met {
			tg.Why = machineBound(t.mix)
			if tg.Why == "" {
				tg.Why = cpuWhy(r.comparison(t.mix, Memory().Name))
			}
		}
		add(tg)
	}
	if c := r.comparison(Browse().Name, Memory().Name); c != nil {
		t := Target{
			What: "p50 at a fixed load both sustain, on / off", Goal: "≤ 0.2", Claim: "50–80% faster",
			Value: c.P50Ratio, Measured: fmt.Sprintf("%.3f at %.0f requests/s", c.P50Ratio, c.Rate), Met: c.P50Ratio <= 0.2,
		}
		if off, on := side(*c, c.Off), side(*c, c.On); !t.Met && c.Floor != nil && off.Latency.P50 > 0 {
			t.Why = fmt.Sprintf("At %.0f requests/s the cache-on p50 is %.2f ms and the same shop's constant response (/healthz) has a p50 of %.2f ms, against %.2f ms cache off: loopback HTTP on this machine costs that much whatever the shop does, so the best ratio it allows is %.2f.",
				c.Rate, on.Latency.P50, c.Floor.Latency.P50, off.Latency.P50, c.Floor.Latency.P50/off.Latency.P50)
		}
		add(t)
	}
	if sat := r.Saturation; sat != nil && sat.Ratio() > 0 {
		v := sat.Ratio()
		t := Target{
			What: "page-cache hit throughput / constant response, wrk", Goal: "≥ 0.85",
			Value: v, Measured: fmt.Sprintf("%.2f (%.0f against %.0f requests/s, medians of %d rounds of `%s`)", v, median(sat.PageHit), median(sat.Hello), len(sat.Hello), sat.Command), Met: v >= 0.85,
		}
		if !t.Met && sat.PageHitCPU > 0 {
			t.Why = fmt.Sprintf("Driven by wrk, the shop is the bottleneck: a page-cache hit cost it %.3f ms of CPU against %.3f ms for the constant response, a ratio of %.2f. Beyond /healthz a hit reads the entry and its tags' generations, writes a page of several KB where /healthz writes three bytes, and runs the page's middleware (session cookie, query check, security headers, access log); a run with --profile breaks the cost down.",
				sat.PageHitCPU, sat.HelloCPU, sat.HelloCPU/sat.PageHitCPU)
		}
		add(t)
	} else if hello, hit := r.calibration(Calibration().Name), r.calibration(PageHit().Name); hello != nil && hit != nil && hello.Rate > 0 {
		v := hit.Rate / hello.Rate
		t := Target{
			What: "page-cache hit throughput / constant response, same run", Goal: "≥ 0.85",
			Value: v, Measured: fmt.Sprintf("%.2f (%.0f against %.0f requests/s)", v, hit.Rate, hello.Rate), Met: v >= 0.85,
		}
		if !t.Met && hit.At != nil && hello.At != nil && hello.At.CPU.Shop > 0 {
			t.Why = fmt.Sprintf("A page-cache hit cost the shop %.3f ms of CPU against %.3f ms for the constant response, a ratio of %.2f: it sends a whole page where /healthz sends three bytes (a page of more than about 3.4 KB leaves Go's 4 KB connection buffer in two writes to the socket, the constant response in one), and runs the page's middleware (session cookie, query check, security headers) and the entry's tag check. With the load generator on the same two CPUs, capacities here move by a step of the search between runs: compare the CPU ratio, which `shop bench --profile` breaks down.",
				hit.At.CPU.Shop, hello.At.CPU.Shop, hello.At.CPU.Shop/hit.At.CPU.Shop)
		}
		add(t)
	}
	// Several instances at the speed of one, and Redis near memory.
	for _, g := range []struct {
		config, mix string
		goal        float64
	}{{TieredPair().Name, Browse().Name, 0.9}, {Redis().Name, Browse().Name, 0.6}} {
		mem, other := r.capacity(Memory().Name, g.mix), r.capacity(g.config, g.mix)
		if mem == nil || other == nil || mem.Rate == 0 {
			continue
		}
		v := other.Rate / mem.Rate
		add(Target{
			What: fmt.Sprintf("capacity at the SLO, %s mix, %s / memory on one", g.mix, g.config), Goal: fmt.Sprintf("≥ %g", g.goal),
			Value: v, Measured: fmt.Sprintf("%.2f (%.0f against %.0f requests/s)", v, other.Rate, mem.Rate), Met: v >= g.goal,
		})
	}
	if off, on := r.capacity(Off().Name, Full().Name), r.capacity(TieredPair().Name, Full().Name); off != nil && on != nil && off.Rate > 0 {
		v := on.Rate / off.Rate
		add(Target{
			What: "capacity at the SLO, full mix, " + TieredPair().Name + " / off", Goal: "≥ 5x",
			Value: v, Measured: fmt.Sprintf("%.1fx (%.0f against %.0f requests/s)", v, on.Rate, off.Rate), Met: v >= 5,
		})
	}
	// CPU per request of the shop, PostgreSQL and Redis together: what
	// a request costs the machine, whatever the load generator costs it.
	// The goals are the capacity goals' (8x, 5x) in CPU.
	for _, g := range []struct {
		mix  string
		goal float64
	}{{Browse().Name, 0.125}, {Full().Name, 0.2}} {
		var parts []string
		headline, met := -1.0, false
		for _, c := range r.Comparisons {
			if c.Mix != g.mix || c.TotalCPURatio == 0 {
				continue
			}
			parts = append(parts, fmt.Sprintf("%s %.3f", c.On, c.TotalCPURatio))
			if c.On == Memory().Name {
				headline, met = c.TotalCPURatio, c.TotalCPURatio <= g.goal
			}
		}
		if headline < 0 {
			continue
		}
		add(Target{
			What: "CPU per request (shop, PostgreSQL, Redis), " + g.mix + " mix, on / off", Goal: fmt.Sprintf("≤ %g", g.goal),
			Value: headline, Measured: strings.Join(parts, "; "), Met: met,
		})
	}
	if len(r.PriceChanges) > 0 {
		worst, parts := 0.0, []string{}
		for _, config := range slices.Sorted(maps.Keys(r.PriceChanges)) {
			w := r.PriceChanges[config]
			parts = append(parts, fmt.Sprintf("%s %.1f / %.1f ms (%d)", config, w.Latency.P50, w.Latency.P99, w.Writes))
			if config != Off().Name {
				worst = max(worst, w.Latency.P99)
			}
		}
		add(Target{
			What: "price change acknowledged, invalidation included, p99, every store", Goal: "≤ 50 ms",
			Value: worst, Measured: "p50 / p99 (changes): " + strings.Join(parts, "; "), Met: worst <= 50,
		})
	}
	stale := r.StaleReads + r.Audit.Differences
	t := Target{
		What: "stale reads after acknowledged writes", Goal: "0", Value: float64(stale), Met: stale == 0 && r.Audit.Failed == 0,
		Measured: fmt.Sprintf("%d in %d price reads after %d price changes; %d of %d pages differ from the cache-off shop's after the load",
			r.StaleReads, r.PriceReads, r.PriceWrites, r.Audit.Differences, r.Audit.Pages),
	}
	if r.Audit.Failed > 0 {
		t.Measured += fmt.Sprintf("; %d audits could not run (see the notes)", r.Audit.Failed)
	}
	add(t)
	if cs := r.ColdStart; cs != nil {
		t := Target{What: "cold start with --warm: page hit rate ≥ 90%", Goal: "within 10 s"}
		if cs.Reached90At != nil {
			t.Value = Seconds(*cs.Reached90At)
			t.Measured = fmt.Sprintf("after %s (ready after %s)", shortDuration(*cs.Reached90At), shortDuration(cs.ReadyAfter))
			t.Met = t.Value <= 10
		} else {
			t.Value = -1
			t.Measured = fmt.Sprintf("not within %d s (hit rates %v)", len(cs.HitRates), cs.HitRates)
		}
		add(t)
	}
}

// Personal are the kinds of request no shared cache may answer: a
// customer's own pages and the writes.
func Personal() []Kind {
	return []Kind{UserProduct, Dashboard, Cart, AddToCart, Checkout, PriceChange, StockChange}
}

// sqlWhy explains a missed SQL target from the statements of each kind of
// request: what the personal kinds cost alone, and what the rest did.
func sqlWhy(c *Comparison) string {
	var req, personal, public, unique float64
	var offReq, offSQL float64
	for _, p := range c.Phases {
		n := float64(p.Requests)
		if p.Config != c.On {
			offReq += n
			offSQL += p.SQLPerRequest * n
			continue
		}
		req += n
		for k, per := range p.SQLByKind {
			if slices.Contains(Personal(), k) {
				personal += per * float64(p.Kinds[k])
			} else {
				public += per * float64(p.Kinds[k])
			}
			if k == SearchMiss {
				unique += per * float64(p.Kinds[k])
			}
		}
	}
	if req == 0 || offSQL == 0 {
		return ""
	}
	off := offSQL / offReq
	why := fmt.Sprintf("Cache on, the mix ran %.3f statements per request: %.3f from public pages (misses after the writes' invalidations), %.3f from searches nobody made before (never stored, by design: see the search table) and %.3f from a customer's own pages and the writes, which no shared cache may answer.",
		(personal+public)/req, (public-unique)/req, unique/req, personal/req)
	if floor := personal / req / off; floor > 0.5*(personal+public)/req/off {
		why += fmt.Sprintf(" Those alone make a ratio of %.3f: the target would need fewer statements in the checkout, cart and admin writes themselves, which the cache-off shop would share.", floor)
	}
	return why
}

// cpuWhy explains a missed capacity target from the CPU time a request
// costs on each side: on a machine whose CPUs the load generator, the shop
// and PostgreSQL share, capacity follows it.
func cpuWhy(c *Comparison) string {
	if c == nil {
		return ""
	}
	off, on := side(*c, c.Off), side(*c, c.On)
	cpuOff, cpuOn := off.CPU.Shop+off.CPU.Postgres+off.CPU.Redis, on.CPU.Shop+on.CPU.Postgres+on.CPU.Redis
	if cpuOn <= 0 {
		return ""
	}
	var personal, all, personalReq, req float64
	for _, p := range c.Phases {
		if p.Config != c.On {
			continue
		}
		for k, per := range p.SQLByKind {
			n := float64(p.Kinds[k])
			all += per * n
			req += n
			if slices.Contains(Personal(), k) {
				personal += per * n
				personalReq += n
			}
		}
	}
	why := fmt.Sprintf("Capacity on these shared CPUs follows the CPU time of a request: cache on, %.2f ms (shop %.2f, PostgreSQL %.2f, Redis %.2f) against %.2f ms off, a ratio of %.1fx.",
		cpuOn, on.CPU.Shop, on.CPU.Postgres, on.CPU.Redis, cpuOff, cpuOff/cpuOn)
	if all > 0 && req > 0 {
		why += fmt.Sprintf(" What is left: a customer's own pages and the writes, %.0f%% of the requests, which no shared cache may answer, are rendered for one user and run %.0f%% of the statements left (checkout locks and writes its rows in one transaction); the rest are public pages missed after the writes' invalidations and searches nobody made before.",
			100*personalReq/req, 100*personal/all)
	}
	return why
}

// Seconds returns d in seconds.
func Seconds(d Duration) float64 { return float64(d) / 1e9 }

func shortDuration(d Duration) string {
	return strconv.FormatFloat(Seconds(d), 'f', 1, 64) + " s"
}

// Markdown is the report as a page: the targets, then the figures behind
// them. plots are the SVG files beside it.
func Markdown(r *Report, plots []string) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Benchmark of %s\n\n", r.Date.Format("2006-01-02"))
	b.WriteString(Summary(r, ""))
	b.WriteString("\n## Capacity steps\n\nEvery step of every capacity search, in order.\n\n")
	b.WriteString("| configuration | mix | offered/s | achieved/s | p50 ms | p99 ms | p99.9 ms | errors | SQL/req | PG xacts/req | CPU ms/req (shop + PG + Redis) | RSS MB | SLO |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, c := range slices.Concat(r.Calibration, r.Capacities) {
		for _, p := range c.Steps {
			fmt.Fprintf(&b, "| %s | %s | %.0f | %.0f | %.2f | %.2f | %.2f | %d | %.3f | %.3f | %.2f + %.2f + %.2f | %.0f | %s |\n",
				p.Config, p.Mix, p.Offered, p.Achieved, p.Latency.P50, p.Latency.P99, p.Latency.P999, p.Errors,
				p.SQLPerRequest, p.PGXactsPerReq, p.CPU.Shop, p.CPU.Postgres, p.CPU.Redis, p.ShopRSSMB, passMark(p))
		}
	}
	if sat := r.Saturation; sat != nil {
		fmt.Fprintf(&b, "\n## Saturation with wrk\n\n`%s`, rounds in turn against the memory store's shop; CPU is the shop's, per request, over all rounds.\n\n| round | /healthz req/s | %s req/s |\n|---:|---:|---:|\n", sat.Command, sat.Page)
		for i := range min(len(sat.Hello), len(sat.PageHit)) {
			fmt.Fprintf(&b, "| %d | %.0f | %.0f |\n", i+1, sat.Hello[i], sat.PageHit[i])
		}
		fmt.Fprintf(&b, "| median | %.0f | %.0f |\n| CPU ms/req | %.3f | %.3f |\n", median(sat.Hello), median(sat.PageHit), sat.HelloCPU, sat.PageHitCPU)
	}
	b.WriteString("\n## Interleaved phases\n\n")
	b.WriteString("| mix | configuration | rate/s | achieved/s | p50 ms | p90 ms | p99 ms | max ms | errors | SQL/req | Redis cmds/req | hit rates | CPU ms/req (shop + PG + Redis) |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|\n")
	for _, c := range r.Comparisons {
		for _, p := range c.Phases {
			redis := "–"
			if p.RedisPerRequest != nil {
				redis = fmt.Sprintf("%.2f", *p.RedisPerRequest)
			}
			fmt.Fprintf(&b, "| %s | %s | %.0f | %.0f | %.2f | %.2f | %.2f | %.1f | %d | %.4f | %s | %s | %.2f + %.2f + %.2f |\n",
				p.Mix, p.Config, p.Offered, p.Achieved, p.Latency.P50, p.Latency.P90, p.Latency.P99, p.Latency.Max, p.Errors,
				p.SQLPerRequest, redis, hitRates(p.HitRates), p.CPU.Shop, p.CPU.Postgres, p.CPU.Redis)
		}
	}
	for _, c := range r.Comparisons {
		fmt.Fprintf(&b, "\n## SQL statements per request by kind: %s mix, %s against %s\n\n", c.Mix, c.On, c.Off)
		b.WriteString("From each response's X-DB-Queries and X-Cache headers, over the interleaved phases.\n\n| kind | share | SQL/req off | SQL/req on | page hits on |\n|---|---:|---:|---:|---:|\n")
		off, on := byKind(c, c.Off), byKind(c, c.On)
		for _, k := range kindOrder {
			if o, ok := on[k]; ok {
				fmt.Fprintf(&b, "| %s | %.1f%% | %.3f | %.3f | %.1f%% |\n", k, 100*o.share, off[k].sql, o.sql, 100*o.hits)
			}
		}
	}
	if len(plots) > 0 {
		b.WriteString("\n## Plots\n\n")
		for _, p := range plots {
			fmt.Fprintf(&b, "![%s](%s)\n\n", strings.TrimSuffix(p, ".svg"), p)
		}
	}
	if len(r.Profiles) > 0 {
		b.WriteString("\n## Profiles\n\nCPU profiles of the cache-on shop during its first interleaved phase: `go tool pprof -top <file>`.\n\n")
		for _, p := range r.Profiles {
			fmt.Fprintf(&b, "- %s\n", p)
		}
	}
	return b.String()
}

var kindOrder = []Kind{Home, List, Product, Revalidate, APIProduct, Search, SearchMiss, UserProduct, Dashboard, Cart, AddToCart, Checkout, PriceChange, StockChange}

type kindFigures struct{ share, sql, hits float64 }

// byKind averages one side of a comparison by kind of request.
func byKind(c Comparison, config string) map[Kind]kindFigures {
	counts, sql, hits := map[Kind]float64{}, map[Kind]float64{}, map[Kind]float64{}
	total := 0.0
	for _, p := range c.Phases {
		if p.Config != config {
			continue
		}
		for k, n := range p.Kinds {
			counts[k] += float64(n)
			sql[k] += p.SQLByKind[k] * float64(n)
			hits[k] += p.PageHitsByKind[k] * float64(n)
			total += float64(n)
		}
	}
	out := map[Kind]kindFigures{}
	for k, n := range counts {
		out[k] = kindFigures{share: n / total, sql: sql[k] / n, hits: hits[k] / n}
	}
	return out
}

func passMark(p Phase) string {
	if p.Pass {
		return "met"
	}
	if p.Stopped {
		return "fell behind"
	}
	return "missed"
}

func hitRates(h map[string]float64) string {
	var parts []string
	for _, layer := range []string{"http", "page", "fragment", "query", "aggregate", "session"} {
		if v, ok := h[layer]; ok {
			parts = append(parts, fmt.Sprintf("%s %.0f%%", layer, 100*v))
		}
	}
	if len(parts) == 0 {
		return "–"
	}
	return strings.Join(parts, ", ")
}

// Summary is the part of the report the README shows: the run, the targets
// and the headline tables. link, when set, is where the full report is.
func Summary(r *Report, link string) string {
	var b bytes.Buffer
	kind := "full run"
	if r.Quick {
		kind = "quick run (`--quick`: shorter steps, fewer configurations; ratios are rougher)"
	}
	fmt.Fprintf(&b, "Measured on %s by `shop bench --scale %g` (%s, %s): %s; PostgreSQL %s", r.Date.Format("2006-01-02"), r.Scale, kind, time.Duration(r.Took), r.Machine, r.Postgres)
	if r.Redis != "" {
		fmt.Fprintf(&b, ", Redis %s", r.Redis)
	}
	fmt.Fprintf(&b, "; %d products. The load generator runs on the same machine. SLO: p99 ≤ %s, errors < 0.1%%.", r.Products, time.Duration(r.SLO))
	if link != "" {
		fmt.Fprintf(&b, " Full report: [%s](%s).", filepath.Base(link), link)
	}
	b.WriteString("\n\n| what | target | measured | met | seed's claim |\n|---|---|---|---|---|\n")
	for _, t := range r.Targets {
		met := "yes"
		if !t.Met {
			met = "**no**"
		}
		claim := t.Claim
		if claim == "" {
			claim = "–"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", t.What, t.Goal, t.Measured, met, claim)
	}
	for _, t := range r.Targets {
		if !t.Met && t.Why != "" {
			fmt.Fprintf(&b, "\n*%s*: %s\n", t.What, t.Why)
		}
	}

	b.WriteString("\n**Capacity** (requests/s at the SLO) and figures at that rate:\n\n")
	b.WriteString("| configuration | mix | capacity/s | p50 ms | p99 ms | SQL/req | CPU ms/req, shop | hit rates |\n|---|---|---:|---:|---:|---:|---:|---|\n")
	for _, c := range slices.Concat(r.Calibration, r.Capacities) {
		name := c.Config
		for _, cfg := range slices.Concat([]Config{Off()}, Stores(), Ablations()) {
			if cfg.Name == c.Config {
				name = fmt.Sprintf("%s (%s)", c.Config, cfg.About)
			}
		}
		if c.Mix == Calibration().Name {
			name = "constant response (/healthz)"
		} else if c.Mix == PageHit().Name {
			name = "one page, always a page-cache hit"
		}
		if c.At == nil {
			fmt.Fprintf(&b, "| %s | %s | below %.0f | | | | | |\n", name, c.Mix, lowestStep(c))
			continue
		}
		p := c.At
		fmt.Fprintf(&b, "| %s | %s | %.0f | %.2f | %.2f | %.3f | %.3f | %s |\n", name, c.Mix, c.Rate, p.Latency.P50, p.Latency.P99, p.SQLPerRequest, p.CPU.Shop, hitRates(p.HitRates))
	}

	if len(r.Comparisons) > 0 {
		b.WriteString("\n**Off against on**, interleaved phases at a rate both sustain (averages over the phases of each side):\n\n")
		b.WriteString("| mix | on | rate/s | SQL/req off → on | p50 ms off → on | p99 ms off → on | CPU ms/req off → on (shop + PG + Redis) | hit rates on |\n|---|---|---:|---|---|---|---|---|\n")
		for _, c := range r.Comparisons {
			off, on := side(c, c.Off), side(c, c.On)
			fmt.Fprintf(&b, "| %s | %s | %.0f | %.3f → %.4f | %.2f → %.2f | %.2f → %.2f | %.2f → %.2f | %s |\n",
				c.Mix, c.On, c.Rate, off.SQLPerRequest, on.SQLPerRequest, off.Latency.P50, on.Latency.P50, off.Latency.P99, on.Latency.P99,
				off.CPU.Shop+off.CPU.Postgres+off.CPU.Redis, on.CPU.Shop+on.CPU.Postgres+on.CPU.Redis, hitRates(on.HitRates))
		}
	}
	if len(r.Comparisons) > 0 {
		b.WriteString("\n**Search**, by kind of search (vocabulary: Zipf-distributed searches of category names and colours or materials; unique: a search nobody made before):\n\n")
		b.WriteString("| mix | on | searches | SQL/req off → on | page hits on | unique searches | SQL/req off → on | page hits on |\n|---|---|---:|---|---:|---:|---|---:|\n")
		for _, c := range r.Comparisons {
			off, on := byKind(c, c.Off), byKind(c, c.On)
			s, u := on[Search], on[SearchMiss]
			if s.share == 0 {
				continue
			}
			fmt.Fprintf(&b, "| %s | %s | %.1f%% | %.3f → %.3f | %.1f%% | %.1f%% | %.3f → %.3f | %.1f%% |\n",
				c.Mix, c.On, 100*s.share, off[Search].sql, s.sql, 100*s.hits, 100*u.share, off[SearchMiss].sql, u.sql, 100*u.hits)
		}
	}
	if cs := r.ColdStart; cs != nil {
		fmt.Fprintf(&b, "\n**Cold start** of the memory store with `--warm`: ready after %s; page-cache hit rate second by second under browsing: %s.\n", shortDuration(cs.ReadyAfter), percents(cs.HitRates))
	}
	if len(r.PriceChanges) > 0 {
		b.WriteString("\n**Price changes** (PATCH of the admin API, acknowledged: the write, and the invalidation it waits for), over each configuration's phases of the comparisons, at a rate both sides sustain:\n\n| configuration | changes | p50 ms | p90 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|---:|\n")
		for _, config := range slices.Sorted(maps.Keys(r.PriceChanges)) {
			w := r.PriceChanges[config]
			fmt.Fprintf(&b, "| %s | %d | %.2f | %.2f | %.2f | %.2f |\n", config, w.Writes, w.Latency.P50, w.Latency.P90, w.Latency.P99, w.Latency.Max)
		}
	}
	fmt.Fprintf(&b, "\n**Stale reads**: %d price reads were checked against %d acknowledged price changes; %d showed an older price.", r.PriceReads, r.PriceWrites, r.StaleReads)
	if a := r.Audit; a.Audits+a.Failed > 0 {
		fmt.Fprintf(&b, " After each comparison, %d audits compared %d pages (the products its phases changed and the most visited, their JSON, the home page, every list's first page, the top searches) whole with the cache-off shop's, %d marked parts against their bound: %d differed; %d audits could not run.",
			a.Audits, a.Pages, a.Marked, a.Differences, a.Failed)
	}
	b.WriteString("\n")
	for _, s := range r.Audit.Samples {
		fmt.Fprintf(&b, "\n```\n%s\n```\n", s)
	}
	c := r.Consistency
	fmt.Fprintf(&b, "\n**Consistency sampler**: %d cache hits loaded again from the database and compared, %s consistent: %d mismatches, %d within a declared staleness bound; %d void (a write moved a tag meanwhile), %d failed, %d dropped.\n",
		c.Checks, monitor.ConsistencyPercent(int64(c.Checks), int64(c.Mismatches)), c.Mismatches, c.WithinBound, c.Changed, c.Failed, c.Dropped)
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "\n- %s", n)
	}
	if len(r.Notes) > 0 {
		b.WriteString("\n")
	}
	return b.String()
}

func lowestStep(c Capacity) float64 {
	lowest := 0.0
	for _, p := range c.Steps {
		if lowest == 0 || p.Offered < lowest {
			lowest = p.Offered
		}
	}
	return lowest
}

func percents(v []float64) string {
	var parts []string
	for _, x := range v {
		parts = append(parts, fmt.Sprintf("%.0f%%", 100*x))
	}
	return strings.Join(parts, ", ")
}

// side averages one configuration's phases of a comparison, weighted by
// their requests.
func side(c Comparison, config string) Phase {
	var out Phase
	out.HitRates = map[string]float64{}
	var n float64
	for _, p := range c.Phases {
		if p.Config != config {
			continue
		}
		w := float64(p.Requests)
		n += w
		out.SQLPerRequest += p.SQLPerRequest * w
		out.Latency.P50 += p.Latency.P50 * w
		out.Latency.P99 += p.Latency.P99 * w
		out.CPU.Shop += p.CPU.Shop * w
		out.CPU.Postgres += p.CPU.Postgres * w
		out.CPU.Redis += p.CPU.Redis * w
		for l, h := range p.HitRates {
			out.HitRates[l] += h * w
		}
	}
	if n == 0 {
		return out
	}
	out.SQLPerRequest /= n
	out.Latency.P50 /= n
	out.Latency.P99 /= n
	out.CPU.Shop /= n
	out.CPU.Postgres /= n
	out.CPU.Redis /= n
	for l := range out.HitRates {
		out.HitRates[l] /= n
	}
	return out
}

// readmeMarkers are the README's markers between which UpdateREADME
// writes the summary of a run at scale: one pair per scale published.
func readmeMarkers(scale float64) (begin, end string) {
	return fmt.Sprintf("<!-- bench:begin scale=%g -->", scale), fmt.Sprintf("<!-- bench:end scale=%g -->", scale)
}

// UpdateREADME replaces what lies between the README's benchmark markers
// for the report's scale with its summary, linking to the full report at
// link; the other scales' summaries stay as they are.
func UpdateREADME(path string, r *Report, link string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(b)
	begin, end := readmeMarkers(r.Scale)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		return fmt.Errorf("%s has no %s … %s markers to write the results of scale %g between", path, begin, end, r.Scale)
	}
	s = s[:i+len(begin)] + "\n" + Summary(r, link) + s[j:]
	return os.WriteFile(path, []byte(s), 0o644)
}
