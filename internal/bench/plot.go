package bench

import (
	"cmp"
	"fmt"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// drawPlots draws the report's SVG plots next to base and returns their paths:
// latency against offered rate, SQL statements per request, hit rates.
func drawPlots(r *Report, base string) ([]string, error) {
	var paths []string
	for _, p := range []struct {
		name string
		draw func(*Report) (*plot.Plot, error)
	}{{"latency", latencyPlot}, {"sql", sqlPlot}, {"hits", hitsPlot}} {
		pl, err := p.draw(r)
		if err != nil {
			return nil, err
		}
		if pl == nil {
			continue
		}
		path := fmt.Sprintf("%s-%s.svg", base, p.name)
		if err := pl.Save(18*vg.Centimeter, 11*vg.Centimeter, path); err != nil {
			return nil, err
		}
		paths = append(paths, path)
	}
	return paths, nil
}

// latencyPlot is p99 against offered rate, one line per configuration,
// from the capacity searches of the browsing mix.
func latencyPlot(r *Report) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "Browsing: p99 latency against offered rate"
	p.X.Label.Text = "offered requests/s"
	p.Y.Label.Text = "p99 ms (from intended send time)"
	p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
	p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
	p.Legend.Top = true
	var lines []any
	maxRate := 0.0
	for _, c := range slices.Concat(r.Calibration, r.Capacities) {
		if c.Mix != Browse().Name && c.Mix != PageHit().Name && c.Mix != Calibration().Name {
			continue
		}
		steps := slices.SortedFunc(slices.Values(c.Steps), func(a, b Phase) int { return cmp.Compare(a.Offered, b.Offered) })
		xys := make(plotter.XYs, 0, len(steps))
		for _, s := range steps {
			xys = append(xys, plotter.XY{X: s.Offered, Y: max(s.Latency.P99, 0.01)})
			maxRate = max(maxRate, s.Offered)
		}
		name := c.Config
		if c.Mix != Browse().Name {
			name = c.Mix
		}
		lines = append(lines, name, xys)
	}
	if len(lines) == 0 {
		return nil, nil
	}
	if err := plotutil.AddLinePoints(p, lines...); err != nil {
		return nil, err
	}
	slo, err := plotter.NewLine(plotter.XYs{{X: r.startRate(), Y: float64(r.SLO) / 1e6}, {X: maxRate, Y: float64(r.SLO) / 1e6}})
	if err != nil {
		return nil, err
	}
	slo.Dashes = []vg.Length{vg.Points(4), vg.Points(4)}
	p.Add(slo)
	p.Legend.Add("SLO", slo)
	return p, nil
}

func (r *Report) startRate() float64 {
	lowest := 0.0
	for _, c := range slices.Concat(r.Calibration, r.Capacities) {
		if l := lowestStep(c); l > 0 && (lowest == 0 || l < lowest) {
			lowest = l
		}
	}
	return max(lowest, 1)
}

// sqlPlot is SQL statements per request at capacity, by configuration and
// mix.
func sqlPlot(r *Report) (*plot.Plot, error) {
	var names []string
	for _, c := range r.Capacities {
		if !slices.Contains(names, c.Config) {
			names = append(names, c.Config)
		}
	}
	if len(names) == 0 {
		return nil, nil
	}
	p := plot.New()
	p.Title.Text = "SQL statements per request, at each configuration's capacity"
	p.Y.Label.Text = "statements per request"
	p.Legend.Top = true
	w := vg.Points(14)
	for i, mix := range []string{Browse().Name, Full().Name} {
		vs := make(plotter.Values, len(names))
		for j, n := range names {
			if c := r.capacity(n, mix); c != nil && c.At != nil {
				vs[j] = c.At.SQLPerRequest
			}
		}
		bars, err := plotter.NewBarChart(vs, w)
		if err != nil {
			return nil, err
		}
		bars.Color = plotutil.Color(i)
		bars.LineStyle.Width = 0
		bars.Offset = vg.Length(i*2-1) * w / 2
		p.Add(bars)
		p.Legend.Add(mix, bars)
	}
	p.NominalX(names...)
	return p, nil
}

// hitsPlot is each layer's hit rate in the browsing comparisons, by store.
func hitsPlot(r *Report) (*plot.Plot, error) {
	layers := []string{"http", "page", "fragment", "query", "aggregate"}
	var comps []Comparison
	for _, c := range r.Comparisons {
		if c.Mix == Browse().Name {
			comps = append(comps, c)
		}
	}
	if len(comps) == 0 {
		return nil, nil
	}
	p := plot.New()
	p.Title.Text = "Browsing: hit rate of each layer"
	p.Y.Label.Text = "hits, % of lookups"
	p.Y.Min, p.Y.Max = 0, 100
	p.Legend.Top = true
	p.Legend.Left = true
	w := vg.Points(10)
	for i, c := range comps {
		on := side(c, c.On)
		vs := make(plotter.Values, len(layers))
		for j, l := range layers {
			vs[j] = 100 * on.HitRates[l]
		}
		bars, err := plotter.NewBarChart(vs, w)
		if err != nil {
			return nil, err
		}
		bars.Color = plotutil.Color(i)
		bars.LineStyle.Width = 0
		bars.Offset = vg.Length(2*i-len(comps)+1) * w / 2
		p.Add(bars)
		p.Legend.Add(c.On, bars)
	}
	p.NominalX(layers...)
	return p, nil
}
