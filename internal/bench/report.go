package bench

import (
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Report is everything one run of the benchmark measured. It is written as
// JSON beside its Markdown summary and plots.
type Report struct {
	Date     time.Time `json:"date"`
	Machine  string    `json:"machine"`
	Postgres string    `json:"postgres"`
	Redis    string    `json:"redis,omitempty"`
	Scale    float64   `json:"scale"`
	Seed     int64     `json:"seed"`
	Quick    bool      `json:"quick"`
	SLO      Duration  `json:"slo_p99"`
	Products int       `json:"products"`
	Took     Duration  `json:"took"`

	// Calibration is the same shop's constant response and its page-cache
	// hit, in the same run: what this machine can do at most.
	Calibration []Capacity `json:"calibration"`
	// Saturation is the same pair driven by wrk, when it is installed.
	Saturation *Saturation `json:"saturation,omitempty"`
	// Capacities are each configuration's highest rate at the SLO, by mix.
	Capacities []Capacity `json:"capacities"`
	// Comparisons are the interleaved fixed-load phases, off against on.
	Comparisons []Comparison `json:"comparisons"`
	ColdStart   *ColdStart   `json:"cold_start,omitempty"`
	StaleReads  int          `json:"stale_reads"`
	PriceReads  int          `json:"price_reads_checked"`
	PriceWrites int          `json:"price_changes_acknowledged"`
	// PriceChanges are the latencies of the acknowledged price changes
	// (PATCH of the admin API), by configuration, over its phases of the
	// comparisons: a write and the invalidation it makes, which the write
	// waits for.
	PriceChanges map[string]WriteLatency `json:"price_change_latency,omitempty"`
	// Audit is every field of the pages the load wrote to, compared with
	// the cache-off shop's after each cache-on phase.
	Audit    Audit    `json:"audit"`
	Targets  []Target `json:"targets"`
	Notes    []string `json:"notes,omitempty"`
	Profiles []string `json:"profiles,omitempty"`

	// Consistency is what the shops' consistency samplers found over
	// every phase.
	Consistency Consistency `json:"consistency"`
}

// WriteLatency is how long the writes of one configuration took.
type WriteLatency struct {
	Writes  int     `json:"writes"`
	Latency Latency `json:"latency_ms"`
}

// Audit is what the audits after the cache-on phases found
// (stalecheck.Audit): pages compared whole with the cache-off shop's once
// the load's writes were acknowledged and heard.
type Audit struct {
	Audits      int      `json:"audits"`
	Pages       int      `json:"pages_compared"`
	Marked      int      `json:"marked_parts_checked"`
	Differences int      `json:"differences"`
	Failed      int      `json:"failed"`                       // audits that could not run (see the notes)
	Samples     []string `json:"difference_samples,omitempty"` // the first few, whole
}

// Duration is a time.Duration that reads as text in JSON.
type Duration time.Duration

func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	*d = Duration(v)
	return err
}

// Phase is one stretch of load at a fixed rate against one configuration.
type Phase struct {
	Config   string       `json:"config"`
	Mix      string       `json:"mix"`
	Offered  float64      `json:"offered_rps"`
	Achieved float64      `json:"achieved_rps"`
	Seconds  float64      `json:"seconds"`
	Requests int          `json:"requests"`
	Errors   int          `json:"errors"`
	Stopped  bool         `json:"stopped_overloaded,omitempty"`
	Latency  Latency      `json:"latency_ms"`
	Kinds    map[Kind]int `json:"requests_by_kind"`
	// SQLByKind is the SQL statements per request of each kind, as the
	// shop's X-DB-Queries header told them.
	SQLByKind map[Kind]float64 `json:"sql_by_kind"`
	// PageHitsByKind is the part of each kind's responses that the page
	// cache served (X-Cache: HIT).
	PageHitsByKind map[Kind]float64 `json:"page_hit_rate_by_kind"`
	Samples        []string         `json:"error_samples,omitempty"`
	Pass           bool             `json:"meets_slo"`

	// From the shop's /metrics and the services.
	SQLPerRequest   float64            `json:"sql_per_request"`
	PGXactsPerReq   float64            `json:"pg_transactions_per_request"`
	PGStmtsPerReq   *float64           `json:"pg_stat_statements_per_request,omitempty"`
	RedisPerRequest *float64           `json:"redis_commands_per_request,omitempty"`
	HitRates        map[string]float64 `json:"hit_rates"`
	CPU             CPU                `json:"cpu_ms_per_request"`
	ShopRSSMB       float64            `json:"shop_rss_mb"`
	PriceChanges    int                `json:"price_changes"`
	PriceReads      int                `json:"price_reads"`
	StaleReads      int                `json:"stale_reads"`
	Consistency     Consistency        `json:"consistency"`
	// writes are the latencies of its acknowledged price changes, µs.
	writes *hdrhistogram.Histogram
}

// Consistency is what a shop's consistency sampler found
// (shop_cache_consistency_checks_total and _dropped_total): cache hits
// loaded again from the database and compared.
type Consistency struct {
	Checks      int `json:"checks"` // consistent, mismatched or within a declared bound
	Mismatches  int `json:"mismatches"`
	WithinBound int `json:"within_bound"`
	Changed     int `json:"changed_meanwhile"` // void: a write moved a tag
	Failed      int `json:"failed"`
	Dropped     int `json:"dropped"`
}

func (c *Consistency) add(o Consistency) {
	c.Checks += o.Checks
	c.Mismatches += o.Mismatches
	c.WithinBound += o.WithinBound
	c.Changed += o.Changed
	c.Failed += o.Failed
	c.Dropped += o.Dropped
}

// ErrorRate is the part of requests that failed.
func (p Phase) ErrorRate() float64 {
	if p.Requests == 0 {
		return 0
	}
	return float64(p.Errors) / float64(p.Requests)
}

// Latency is a latency distribution, in milliseconds.
type Latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99_9"`
	Max  float64 `json:"max"`
}

// CPU is the CPU time spent per request, in milliseconds.
type CPU struct {
	Shop     float64 `json:"shop"`
	Postgres float64 `json:"postgres"`
	Redis    float64 `json:"redis,omitempty"`
}

// Capacity is the highest rate a configuration sustained at the SLO, and
// the steps that found it.
type Capacity struct {
	Config string  `json:"config"`
	Mix    string  `json:"mix"`
	Rate   float64 `json:"rate"` // 0: not even the first step passed
	At     *Phase  `json:"at,omitempty"`
	Steps  []Phase `json:"steps"`
}

// Comparison is the interleaved phases of two configurations at one rate.
type Comparison struct {
	Mix    string  `json:"mix"`
	Off    string  `json:"off"`
	On     string  `json:"on"`
	Rate   float64 `json:"rate"`
	Phases []Phase `json:"phases"` // off, on, off, on, …
	// Floor is the on shop's constant response at the same rate.
	Floor *Phase `json:"floor,omitempty"`
	// Ratios of on to off, over all of their phases.
	SQLRatio      float64 `json:"sql_ratio"`
	P50Ratio      float64 `json:"p50_ratio"`
	P99Ratio      float64 `json:"p99_ratio"`
	ShopCPURatio  float64 `json:"shop_cpu_ratio"`
	TotalCPURatio float64 `json:"total_cpu_ratio"`
}

// ColdStart is how fast a freshly started shop reaches a high hit rate.
type ColdStart struct {
	Config      string    `json:"config"`
	Warm        bool      `json:"warm"`
	ReadyAfter  Duration  `json:"ready_after"`
	HitRates    []float64 `json:"page_hit_rate_by_second"`
	Reached90At *Duration `json:"reached_90_percent_after,omitempty"`
}

// Target is one of the benchmark's goals and what this run measured.
type Target struct {
	What     string  `json:"what"`
	Goal     string  `json:"goal"`
	Measured string  `json:"measured"`
	Value    float64 `json:"value"`
	Met      bool    `json:"met"`
	Claim    string  `json:"seed_claim,omitempty"`
	Why      string  `json:"why,omitempty"`
}

func (r *Report) capacity(config, mix string) *Capacity {
	for i := range r.Capacities {
		if c := &r.Capacities[i]; c.Config == config && c.Mix == mix {
			return c
		}
	}
	return nil
}

// calibration returns the calibration of mix.
func (r *Report) calibration(mix string) *Capacity {
	for i := range r.Calibration {
		if c := &r.Calibration[i]; c.Mix == mix {
			return c
		}
	}
	return nil
}

func (r *Report) comparison(mix, on string) *Comparison {
	for i := range r.Comparisons {
		if c := &r.Comparisons[i]; c.Mix == mix && c.On == on {
			return c
		}
	}
	return nil
}
