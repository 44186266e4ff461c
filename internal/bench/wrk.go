package bench

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Saturation is a page-cache hit against the constant response of the
// same shop, each driven as hard as wrk can: a load generator in C,
// light enough that the shop, not the generator, is what saturates. The
// benchmark's own generator (Go, with a latency histogram per request)
// costs the two CPUs about as much as the shop does, so its calibration
// ratio says as much about itself as about the shop.
type Saturation struct {
	Command string `json:"command"` // wrk's arguments, the address aside
	Page    string `json:"page"`
	// Hello and PageHit are requests/s, a round each, taken in turn.
	Hello   []float64 `json:"hello"`
	PageHit []float64 `json:"page_hit"`
	// CPU is the shop's CPU time per request, in ms, over the rounds.
	HelloCPU   float64 `json:"hello_cpu_ms"`
	PageHitCPU float64 `json:"page_hit_cpu_ms"`
}

// Ratio is the median page-hit rate over the median constant rate.
func (s *Saturation) Ratio() float64 {
	h := median(s.Hello)
	if h == 0 {
		return 0
	}
	return median(s.PageHit) / h
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(v))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// wrkArgs are two threads and 32 connections: enough to keep both CPUs
// of the shop busy, as the measurements were taken. Like every
// browser, wrk asks for gzip, which the shop stores beside each page.
var wrkArgs = []string{"-t2", "-c32", "-H", "Accept-Encoding: gzip"}

// saturate measures s with wrk, when wrk is installed: rounds of the
// constant response and of page, in turn, so that the machine's drift
// falls on both.
func (r *runner) saturate(ctx context.Context, s *shop, page string) (*Saturation, error) {
	bin, err := execLookPath("wrk")
	if err != nil {
		r.note("wrk is not installed (Debian: wrk), so the page-cache hit is measured against the constant response only with the benchmark's own load generator, which shares the CPUs with the shop.")
		return nil, nil
	}
	rounds, d := 3, 4*time.Second
	if r.opts.Quick {
		rounds, d = 2, 2*time.Second
	}
	args := append(slices.Clone(wrkArgs), "-d"+strconv.Itoa(int(d.Seconds()))+"s")
	sat := &Saturation{Command: shellCommand("wrk", args), Page: page}
	var helloCPU, pageCPU time.Duration
	var helloN, pageN float64
	for range rounds {
		for _, path := range []string{"/healthz", page} {
			before := sampleCPU(s.pids())
			rate, n, err := runWrk(ctx, bin, args, s.url+path)
			if err != nil {
				return nil, err
			}
			used := sampleCPU(s.pids()).since(before)
			if path == page {
				sat.PageHit, pageCPU, pageN = append(sat.PageHit, rate), pageCPU+used, pageN+n
			} else {
				sat.Hello, helloCPU, helloN = append(sat.Hello, rate), helloCPU+used, helloN+n
			}
		}
	}
	if helloN > 0 && pageN > 0 {
		sat.HelloCPU = ms(helloCPU) / helloN
		sat.PageHitCPU = ms(pageCPU) / pageN
	}
	return sat, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

var (
	wrkRate     = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkRequests = regexp.MustCompile(`(\d+) requests in`)
	wrkFailures = regexp.MustCompile(`(Non-2xx or 3xx responses|Socket errors): .*`)
)

// runWrk runs wrk once against url and returns its rate and request
// count; a response that is not a success, or a socket error, fails the
// measurement, since a fast error is not a page served.
func runWrk(ctx context.Context, bin string, args []string, url string) (rate, requests float64, err error) {
	out, err := exec.CommandContext(ctx, bin, append(slices.Clone(args), url)...).CombinedOutput()
	if err != nil {
		return 0, 0, fmt.Errorf("wrk %s: %w: %s", url, err, out)
	}
	return parseWrk(out, url)
}

func parseWrk(out []byte, url string) (rate, requests float64, err error) {
	if m := wrkFailures.Find(out); m != nil {
		return 0, 0, fmt.Errorf("wrk %s: %s", url, m)
	}
	m, n := wrkRate.FindSubmatch(out), wrkRequests.FindSubmatch(out)
	if m == nil || n == nil {
		return 0, 0, fmt.Errorf("wrk %s: no rate in its output: %s", url, out)
	}
	rate, _ = strconv.ParseFloat(string(m[1]), 64)
	requests, _ = strconv.ParseFloat(string(n[1]), 64)
	return rate, requests, nil
}

// shellCommand is name and args as a shell line a reader can paste.
func shellCommand(name string, args []string) string {
	line := name
	for _, a := range args {
		if strings.ContainsAny(a, " \t'\"") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		line += " " + a
	}
	return line
}
