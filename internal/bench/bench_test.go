package bench

import (
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"example.com/shop/internal/money"
	"github.com/HdrHistogram/hdrhistogram-go"
)

func testCatalog(products int) (*Catalog, map[int64]money.Money) {
	cat := &Catalog{AdminToken: "t", Categories: []string{"boots", "hats", "mugs"}, Pages: []int{3, 1, 5}}
	prices := map[int64]money.Money{}
	for i := range products {
		cat.ProductIDs = append(cat.ProductIDs, int64(100+i))
		prices[int64(100+i)] = 1000
	}
	return cat, prices
}

// The kinds come out in the mix's proportions, and the same seed draws the
// same requests.
func TestMixProportions(t *testing.T) {
	cat, prices := testCatalog(500)
	g := NewGenerator(Full(), cat, []string{"shop_session=a"}, NewPrices(prices), 1)
	const n = 40_000
	counts := map[Kind]int{}
	total := 0.0
	for _, w := range Full().Weights {
		total += w
	}
	p := NewPrices(prices)
	g.prices = p
	for range n {
		s := g.Next()
		counts[s.Kind]++
		if s.Kind == PriceChange {
			p.Done(s.Product, s.Price, true, time.Now())
		}
	}
	for k, w := range Full().Weights {
		want := w / total
		got := float64(counts[k]) / n
		if math.Abs(got-want) > 0.01 {
			t.Errorf("%s: %.3f of requests, want %.3f", k, got, want)
		}
	}

	a := NewGenerator(Browse(), cat, nil, NewPrices(prices), 7)
	b := NewGenerator(Browse(), cat, nil, NewPrices(prices), 7)
	for range 1000 {
		if x, y := a.Next(), b.Next(); x.Path != y.Path || x.Kind != y.Kind {
			t.Fatalf("the same seed drew %s and %s", x.Path, y.Path)
		}
	}
}

// Products follow a Zipf law over their rank: the best seller is the most
// visited, and a few products take most visits.
func TestZipf(t *testing.T) {
	cat, prices := testCatalog(1000)
	g := NewGenerator(Mix{"products", map[Kind]float64{Product: 1}}, cat, nil, NewPrices(prices), 3)
	visits := map[int64]int{}
	const n = 50_000
	for range n {
		visits[g.Next().Product]++
	}
	top := 0
	for _, id := range cat.ProductIDs[:100] {
		top += visits[id]
	}
	if visits[cat.ProductIDs[0]] <= visits[cat.ProductIDs[1]] || visits[cat.ProductIDs[1]] <= visits[cat.ProductIDs[50]] {
		t.Errorf("visits by rank do not fall: %d, %d, %d", visits[cat.ProductIDs[0]], visits[cat.ProductIDs[1]], visits[cat.ProductIDs[50]])
	}
	if share := float64(top) / n; share < 0.6 {
		t.Errorf("the top 10%% of products took %.2f of visits, want most", share)
	}
	if len(visits) < 300 {
		t.Errorf("only %d products visited: the long tail is missing", len(visits))
	}
}

// Lists ask only for pages that exist, mostly the first.
func TestListPages(t *testing.T) {
	cat, prices := testCatalog(10)
	g := NewGenerator(Mix{"lists", map[Kind]float64{List: 1}}, cat, nil, NewPrices(prices), 5)
	first := 0
	for range 5000 {
		path := g.Next().Path
		if strings.HasPrefix(path, "/categories/hats") && strings.Contains(path, "page=") {
			t.Fatalf("%s: hats has one page", path)
		}
		if strings.Contains(path, "page=6") {
			t.Fatalf("%s: beyond page 5", path)
		}
		if !strings.Contains(path, "page=") {
			first++
		}
	}
	if first < 2500 {
		t.Errorf("%d of 5000 lists were a first page, want most", first)
	}
}

// A product has one price change in flight at a time; prices rise; a read
// older than an acknowledged change is stale, a read that began before it
// is not.
func TestPrices(t *testing.T) {
	p := NewPrices(map[int64]money.Money{1: 1000})
	price, ok := p.Claim(1)
	if !ok || price != 1001 {
		t.Fatalf("Claim = %v, %v; want 10.01, true", price, ok)
	}
	if _, ok := p.Claim(1); ok {
		t.Fatal("two changes of one product in flight")
	}
	before := time.Now()
	ack := before.Add(time.Millisecond)
	p.Done(1, price, true, ack)
	if next, ok := p.Claim(1); !ok || next <= price {
		t.Fatalf("the next change asks %v, want above %v", next, price)
	}
	if !p.Stale(1, 1000, ack.Add(time.Millisecond)) {
		t.Error("a read after the acknowledgement showing the old price was not stale")
	}
	if p.Stale(1, 1000, before) {
		t.Error("a read that began before the acknowledgement was called stale")
	}
	if p.Stale(1, 1001, ack.Add(time.Millisecond)) || p.Stale(1, 1002, ack.Add(time.Millisecond)) {
		t.Error("a read showing the acknowledged price or a newer one was called stale")
	}
}

// The attack sends the whole schedule at the rate asked, never ahead of
// it, reads back what each request was, and records the statuses and SQL
// counts the shop reported. A busy machine may make it late (see
// TestSchedule for the pacing on a clock of the test's own), which its
// elapsed time tells.
func TestAttackRate(t *testing.T) {
	var mu sync.Mutex
	var arrivals []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrivals = append(arrivals, time.Now())
		mu.Unlock()
		w.Header().Set("X-DB-Queries", "2")
		if r.URL.Path == "/api/products/100" {
			w.Write([]byte(`{"price":"10.00"}`))
		}
	}))
	defer srv.Close()
	cat, prices := testCatalog(1)
	g := NewGenerator(Mix{"api", map[Kind]float64{APIProduct: 1}}, cat, nil, NewPrices(prices), 1)
	const rate, dur = 200, 2 * time.Second
	start := time.Now()
	l := attack(t.Context(), []string{srv.URL}, g, cat, NewPrices(prices), rate, dur, 0)
	took := time.Since(start)
	if l.requests != 400 {
		t.Errorf("%d requests of the schedule's 400 (2 s at 200/s)", l.requests)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(arrivals) != l.requests {
		t.Errorf("%d results for %d requests served", l.requests, len(arrivals))
	}
	// Request k (from 0) is due (k+1)/rate after the start: by then at
	// most k+1 may have arrived, whatever the machine's speed.
	slices.SortFunc(arrivals, time.Time.Compare)
	for k, at := range arrivals {
		if due := time.Duration(k+1) * time.Second / rate; at.Sub(start) < due {
			t.Errorf("request %d arrived %s after the start, ahead of its time %s", k, at.Sub(start), due)
			break
		}
	}
	if l.elapsed < dur || l.elapsed > took {
		t.Errorf("elapsed %s: not within the schedule's %s and the attack's %s", l.elapsed, dur, took)
	}
	if l.errors != 0 || l.stopped {
		t.Errorf("%d errors, stopped %v: %v", l.errors, l.stopped, l.samples)
	}
	if l.kinds[APIProduct] != l.requests || l.sql[APIProduct] != 2*l.requests {
		t.Errorf("kinds %v, SQL %v", l.kinds, l.sql)
	}
	if len(l.reads) != l.requests || l.reads[0].price != 1000 || l.reads[0].product != 100 {
		t.Errorf("price reads: %d, first %+v", len(l.reads), l.reads[0])
	}
	if l.latency.TotalCount() != int64(l.requests) {
		t.Errorf("%d latencies for %d requests", l.latency.TotalCount(), l.requests)
	}
}

// TestSchedule: the attack's pacing, on a clock of the test's own. On
// time, request n goes out when due, (n+1)/rate; on a machine too slow
// for the rate, each goes as soon as it can, and the schedule still ends
// with its last request: late, not short.
func TestSchedule(t *testing.T) {
	s := newSchedule(200, 2*time.Second)
	tests := []struct {
		name      string
		perSend   time.Duration // how long sending one request keeps the sender busy
		wantTotal int
		wantLast  time.Duration // when the last went out
	}{
		{"on time", 0, 400, 2 * time.Second},
		{"at the rate's limit", 5 * time.Millisecond, 400, 2 * time.Second},
		{"too slow for the rate", 8 * time.Millisecond, 400, 5*time.Millisecond + 399*8*time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var now time.Duration // the sender is free again
			var sent []time.Duration
			for {
				wait, stop := s.Pace(now, uint64(len(sent)))
				if stop {
					break
				}
				if wait < 0 {
					t.Fatalf("wait %s", wait)
				}
				// When due, or as soon after as the sender is free.
				at, n := now+wait, len(sent)
				want := s.due(uint64(n))
				if n > 0 {
					want = max(want, sent[n-1]+tt.perSend)
				}
				if at != want {
					t.Fatalf("request %d sent at %s, want %s (due at %s)", n, at, want, s.due(uint64(n)))
				}
				sent = append(sent, at)
				now = at + tt.perSend
				if len(sent) > 1000 {
					t.Fatal("the schedule does not end")
				}
			}
			if len(sent) != tt.wantTotal || sent[len(sent)-1] != tt.wantLast {
				t.Fatalf("%d sent, the last at %s; want %d, the last at %s", len(sent), sent[len(sent)-1], tt.wantTotal, tt.wantLast)
			}
		})
	}
	if r := s.Rate(0); r != 200 {
		t.Errorf("Rate = %v", r)
	}
}

// A login the shop answers 503 (its session store is slow) is tried again
// after the Retry-After given; any other failure is not.
func TestLoginRetries503(t *testing.T) {
	var tries atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.FormValue("password") != "right" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if tries.Add(1) <= 2 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "shop_session", Value: "s1"})
		w.Header().Set("Location", "/")
		w.WriteHeader(http.StatusSeeOther)
	}))
	defer srv.Close()
	s := &shop{url: srv.URL}
	if cookie, err := s.login(t.Context(), "a@shop.test", "right"); err != nil || cookie != "shop_session=s1" || tries.Load() != 3 {
		t.Errorf("login = %q, %v after %d tries; want the session after 3", cookie, err, tries.Load())
	}
	if _, err := s.login(t.Context(), "a@shop.test", "wrong"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("a wrong password: %v", err)
	}
}

// An attack beyond what the shop sustains stops early instead of piling
// up work, and its latencies show the queueing.
func TestAttackFallsBehind(t *testing.T) {
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock() // one at a time, 20 ms each: 50 a second at most
		time.Sleep(20 * time.Millisecond)
		mu.Unlock()
	}))
	defer srv.Close()
	cat, prices := testCatalog(1)
	g := NewGenerator(Calibration(), cat, nil, NewPrices(prices), 1)
	start := time.Now()
	l := attack(t.Context(), []string{srv.URL}, g, cat, NewPrices(prices), 400, 10*time.Second, 200*time.Millisecond)
	if !l.stopped {
		t.Error("an attack at 8 times the capacity did not stop")
	}
	if took := time.Since(start); took > 9*time.Second {
		t.Errorf("it ran %s of its 10 s", took)
	}
	if p99 := l.latency.ValueAtQuantile(99); p99 < 100_000 {
		t.Errorf("p99 %d µs: the queueing is hidden", p99)
	}
}

func TestFragment(t *testing.T) {
	k, id, price := fragment("http://127.0.0.1:1/api/admin/products/7#price_change/7/1234")
	if k != PriceChange || id != 7 || price != 1234 {
		t.Errorf("fragment = %s, %d, %d", k, id, price)
	}
	if got := trimURL("http://h:1/categories/a?sort=price&page=2#list/0/0"); got != "/categories/a?sort=price&page=2" {
		t.Errorf("trimURL = %q", got)
	}
}

func sampleReport() *Report {
	phase := func(config, mix string, sql, p50 float64) Phase {
		return Phase{Config: config, Mix: mix, Offered: 100, Achieved: 100, Requests: 1000, Pass: true, SQLPerRequest: sql,
			Latency: Latency{P50: p50, P99: 4 * p50}, HitRates: map[string]float64{"page": 0.9}, CPU: CPU{Shop: 0.5, Postgres: sql / 2},
			Kinds: map[Kind]int{Product: 900, Checkout: 100}, SQLByKind: map[Kind]float64{Product: sql / 2, Checkout: 7}}
	}
	capacity := func(config, mix string, rate float64) Capacity {
		p := phase(config, mix, 1, 2)
		p.Offered = rate
		return Capacity{Config: config, Mix: mix, Rate: rate, At: &p, Steps: []Phase{p}}
	}
	floor := phase("memory", Calibration().Name, 0, 0.9)
	return &Report{
		Date: time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC), Machine: "a test", Scale: 1, SLO: Duration(50 * time.Millisecond),
		Calibration: []Capacity{capacity("memory", Calibration().Name, 8000), capacity("memory", PageHit().Name, 7200)},
		Saturation: &Saturation{Command: "wrk -t2 -c32 -d4s", Page: "/", Hello: []float64{30000, 28000, 29000}, PageHit: []float64{18000, 19000, 17000},
			HelloCPU: 0.038, PageHitCPU: 0.069},
		Capacities: []Capacity{
			capacity("off", Browse().Name, 400), capacity("memory", Browse().Name, 4000),
			capacity("off", Full().Name, 400), capacity("memory", Full().Name, 1200),
			capacity("redis", Browse().Name, 2000), capacity("tiered-2", Browse().Name, 3800), capacity("tiered-2", Full().Name, 2400),
		},
		Comparisons: []Comparison{
			{Mix: Browse().Name, Off: "off", On: "memory", Rate: 280, Floor: &floor,
				Phases: []Phase{phase("off", Browse().Name, 3, 4), phase("memory", Browse().Name, 0.03, 1)}},
			{Mix: Full().Name, Off: "off", On: "memory", Rate: 280,
				Phases: []Phase{phase("off", Full().Name, 3, 4), phase("memory", Full().Name, 0.9, 1)}},
		},
		ColdStart:  &ColdStart{Config: "memory", Warm: true, HitRates: []float64{0.8, 0.95}, Reached90At: ptr(Duration(2 * time.Second))},
		PriceReads: 10, PriceWrites: 3,
		PriceChanges: map[string]WriteLatency{
			"off":    {Writes: 2, Latency: Latency{P50: 2.5, P90: 3, P99: 4, Max: 4}},
			"memory": {Writes: 3, Latency: Latency{P50: 3, P90: 5, P99: 60, Max: 60}},
		},
	}
}

func ptr[T any](v T) *T { return &v }

// The targets are judged from the figures, and a missed one says why.
func TestEvaluate(t *testing.T) {
	r := sampleReport()
	for i := range r.Comparisons {
		ratios(&r.Comparisons[i])
	}
	evaluate(r)
	met := map[string]bool{}
	why := map[string]string{}
	for _, tg := range r.Targets {
		met[tg.What], why[tg.What] = tg.Met, tg.Why
	}
	checks := map[string]bool{
		"SQL statements per request, browse mix, on / off":                   true,  // 0.01
		"SQL statements per request, full mix, on / off":                     false, // 0.3
		"capacity at the SLO, browse mix, on / off":                          true,  // 10x
		"capacity at the SLO, full mix, on / off":                            false, // 3x
		"p50 at a fixed load both sustain, on / off":                         false, // 0.25
		"page-cache hit throughput / constant response, wrk":                 false, // 18000 / 29000
		"stale reads after acknowledged writes":                              true,
		"cold start with --warm: page hit rate ≥ 90%":                        true,
		"capacity at the SLO, browse mix, tiered-2 / memory on one":          true,  // 0.95
		"capacity at the SLO, browse mix, redis / memory on one":             false, // 0.5
		"capacity at the SLO, full mix, tiered-2 / off":                      true,  // 6x
		"CPU per request (shop, PostgreSQL, Redis), browse mix, on / off":    false, // 0.26
		"price change acknowledged, invalidation included, p99, every store": false, // 60 ms
	}
	for what, want := range checks {
		got, ok := met[what]
		if !ok {
			t.Errorf("no target %q", what)
			continue
		}
		if got != want {
			t.Errorf("%s: met %v, want %v", what, got, want)
		}
	}
	if w := why["p50 at a fixed load both sustain, on / off"]; !strings.Contains(w, "0.90 ms") {
		t.Errorf("the p50 miss does not name the floor: %q", w)
	}
	if w := why["SQL statements per request, full mix, on / off"]; !strings.Contains(w, "no shared cache may answer") {
		t.Errorf("the SQL miss is not explained: %q", w)
	}
	if w := why["capacity at the SLO, full mix, on / off"]; !strings.Contains(w, "CPU time of a request") || !strings.Contains(w, "0.95 ms") {
		t.Errorf("the capacity miss is not explained by CPU per request: %q", w)
	}
	if w := why["page-cache hit throughput / constant response, wrk"]; !strings.Contains(w, "0.069 ms") || !strings.Contains(w, "0.038 ms") {
		t.Errorf("the page-hit miss does not give the CPU per request: %q", w)
	}
	if _, ok := met["page-cache hit throughput / constant response, same run"]; ok {
		t.Error("the page hit is judged by the benchmark's own generator although wrk measured it")
	}
	r.Saturation = nil
	evaluate(r)
	for _, tg := range r.Targets {
		if tg.What == "page-cache hit throughput / constant response, same run" && !tg.Met {
			t.Errorf("without wrk, the same-run ratio of 0.9 is judged a miss: %+v", tg)
		}
	}
	for _, stale := range []struct {
		what                  string
		reads, audits, failed int
	}{{"a stale price read", 1, 0, 0}, {"a page differing after the load", 0, 1, 0}, {"an audit that could not run", 0, 0, 1}} {
		r.StaleReads, r.Audit.Differences, r.Audit.Failed = stale.reads, stale.audits, stale.failed
		evaluate(r)
		for _, tg := range r.Targets {
			if strings.HasPrefix(tg.What, "stale reads") && tg.Met {
				t.Errorf("%s met the target", stale.what)
			}
		}
	}
}

// wrk's report gives the rate and the count; a run that met errors is
// no measurement.
func TestParseWrk(t *testing.T) {
	const ok = `Running 4s test @ http://127.0.0.1:8080/
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.71ms    1.02ms  21.42ms   84.12%
    Req/Sec     9.52k   612.33    10.71k    70.00%
  75835 requests in 4.00s, 318.09MB read
Requests/sec:  18955.72
Transfer/sec:     79.50MB
`
	rate, n, err := parseWrk([]byte(ok), "/")
	if err != nil || rate != 18955.72 || n != 75835 {
		t.Errorf("parseWrk = %v, %v, %v; want 18955.72, 75835, nil", rate, n, err)
	}
	for _, bad := range []string{
		strings.Replace(ok, "Requests/sec", "  Non-2xx or 3xx responses: 75835\nRequests/sec", 1),
		strings.Replace(ok, "Requests/sec", "  Socket errors: connect 0, read 12, write 0, timeout 0\nRequests/sec", 1),
		"unable to connect to 127.0.0.1:8080 Connection refused\n",
	} {
		if _, _, err := parseWrk([]byte(bad), "/"); err == nil {
			t.Errorf("parseWrk accepted %q", bad)
		}
	}
}

// The wrk line in the report is one a reader can paste into a shell.
func TestShellCommand(t *testing.T) {
	got := shellCommand("wrk", append(slices.Clone(wrkArgs), "-d4s"))
	if want := "wrk -t2 -c32 -H 'Accept-Encoding: gzip' -d4s"; got != want {
		t.Errorf("shellCommand = %q; want %q", got, want)
	}
	if got := shellCommand("echo", []string{"it's"}); got != `echo 'it'\''s'` {
		t.Errorf("a quote is not escaped: %q", got)
	}
}

// The report is written as JSON, Markdown and SVG, reads back, and lands
// in the README between its markers.
func TestWriteAndREADME(t *testing.T) {
	r := sampleReport()
	for i := range r.Comparisons {
		ratios(&r.Comparisons[i])
	}
	evaluate(r)
	dir := t.TempDir()
	paths, err := write(r, dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"2026-11-25-scale1.json", "2026-11-25-scale1.md", "2026-11-25-scale1-latency.svg", "2026-11-25-scale1-sql.svg", "2026-11-25-scale1-hits.svg"} {
		b, err := os.ReadFile(filepath.Join(dir, want))
		if err != nil {
			t.Errorf("%s: %v (wrote %v)", want, err, paths)
			continue
		}
		if strings.HasSuffix(want, ".svg") && !strings.Contains(string(b), "<svg") {
			t.Errorf("%s is not an SVG", want)
		}
	}
	back, err := Read(filepath.Join(dir, "2026-11-25-scale1.json"))
	if err != nil || len(back.Capacities) != len(r.Capacities) || back.SLO != r.SLO {
		t.Fatalf("read back %+v, %v", back, err)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "2026-11-25-scale1.md"))
	for _, want := range []string{"| capacity at the SLO, browse mix, on / off | ≥ 8x | 10.0x", "![2026-11-25-scale1-latency](2026-11-25-scale1-latency.svg)", "| checkout |"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("the Markdown lacks %q", want)
		}
	}

	readme := filepath.Join(dir, "README.md")
	begin, end := readmeMarkers(1)
	begin100, end100 := readmeMarkers(100)
	os.WriteFile(readme, []byte("# Shop\n\nBefore.\n\n"+begin100+"\nscale 100 table\n"+end100+"\n\n"+begin+"\nold table\n"+end+"\n\nAfter.\n"), 0o644)
	if err := UpdateREADME(readme, r, "bench/results/2026-11-25-scale1.md"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(readme)
	s := string(b)
	if strings.Contains(s, "old table") || !strings.Contains(s, "Before.") || !strings.Contains(s, "After.") ||
		!strings.Contains(s, "[2026-11-25-scale1.md](bench/results/2026-11-25-scale1.md)") || !strings.Contains(s, "a test") ||
		!strings.Contains(s, "scale 100 table") {
		t.Errorf("README after the update:\n%s", s)
	}
	os.WriteFile(readme, []byte("# Only scale 100\n\n"+begin100+"\n"+end100+"\n"), 0o644)
	if err := UpdateREADME(readme, r, ""); err == nil {
		t.Error("a README without the markers of the report's scale was updated")
	}
}

// TestPriceChangesAddUp: the price changes of a configuration's phases
// add up into one distribution, each configuration its own.
func TestPriceChangesAddUp(t *testing.T) {
	t.Parallel()
	r := &runner{report: &Report{}}
	phase := func(config string, µs ...int64) {
		h := hdrhistogram.New(1, 60_000_000, 3)
		for _, v := range µs {
			h.RecordValue(v)
		}
		r.addWrites(config, h)
	}
	phase("tiered", 2000, 3000)
	phase("tiered")
	phase("tiered", 40_000)
	phase("redis", 1000)
	tiered, redis := r.report.PriceChanges["tiered"], r.report.PriceChanges["redis"]
	if tiered.Writes != 3 || tiered.Latency.P50 < 2.9 || tiered.Latency.P50 > 3.1 || tiered.Latency.Max < 39.9 || tiered.Latency.Max > 40.1 {
		t.Errorf("tiered: %+v, want 3 changes, p50 3 ms, max 40 ms", tiered)
	}
	if redis.Writes != 1 || redis.Latency.P99 < 0.99 || redis.Latency.P99 > 1.01 {
		t.Errorf("redis: %+v, want 1 change of 1 ms", redis)
	}
	if _, ok := r.report.PriceChanges["memory"]; ok {
		t.Error("a configuration without changes has a distribution")
	}
}

// TestAttackSpreads: an attack on several instances sends each its share
// of the requests, in turn.
func TestAttackSpreads(t *testing.T) {
	t.Parallel()
	var got [2]atomic.Int64
	var bases []string
	for i := range got {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got[i].Add(1) }))
		defer srv.Close()
		bases = append(bases, srv.URL)
	}
	cat, prices := testCatalog(1)
	g := NewGenerator(Mix{"api", map[Kind]float64{APIProduct: 1}}, cat, nil, NewPrices(prices), 1)
	l := attack(t.Context(), bases, g, cat, NewPrices(prices), 200, time.Second, 0)
	if l.requests != 200 || got[0].Load() != 100 || got[1].Load() != 100 {
		t.Errorf("%d requests: %d to the first instance, %d to the second", l.requests, got[0].Load(), got[1].Load())
	}
}
