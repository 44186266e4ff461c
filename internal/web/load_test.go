package web_test

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"testing"
	"time"
)

// Helpers of the fault and attack tests: traffic that runs while a fault
// happens, a TCP proxy to break the database's connections, and reports
// of what a test tried and found.

// long reports whether the long versions run (make faults, make
// security): FAULTS_LONG=1.
func long() bool { return os.Getenv("FAULTS_LONG") == "1" }

// pick returns short in the suite and long from the make targets.
func pick[T any](short, long_ T) T {
	if long() {
		return long_
	}
	return short
}

// report prints what a test tried and found (shown by go test -v, as
// make faults and make security run it, and on failure).
func report(t *testing.T, format string, args ...any) {
	t.Helper()
	t.Logf("%s: "+format, append([]any{t.Name()}, args...)...)
}

// sample is one request of the traffic.
type sample struct {
	at, took time.Duration // since the traffic started; how long it took
	status   int           // 0: no answer
	cache    string        // X-Cache
	sql      string        // X-DB-Queries
	worker   int
}

// traffic is workers asking a shop for pages in a loop until stopped,
// every request recorded.
type traffic struct {
	start   time.Time
	mu      sync.Mutex
	samples []sample
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// startTraffic runs workers that each call step in a loop, pausing pause
// between calls. step makes one request and returns its response (nil
// when it got none).
func startTraffic(t *testing.T, workers int, pause time.Duration, step func(ctx context.Context, worker int, r *rand.Rand) *http.Response) *traffic {
	ctx, cancel := context.WithCancel(context.Background())
	tr := &traffic{start: time.Now(), cancel: cancel}
	for w := range workers {
		r := rand.New(rand.NewPCG(uint64(w), 7))
		tr.wg.Go(func() {
			for ctx.Err() == nil {
				began := time.Now()
				res := step(ctx, w, r)
				s := sample{at: began.Sub(tr.start), took: time.Since(began), worker: w}
				if res != nil {
					s.status, s.cache, s.sql = res.StatusCode, res.Header.Get("X-Cache"), res.Header.Get("X-DB-Queries")
				}
				if ctx.Err() == nil {
					tr.mu.Lock()
					tr.samples = append(tr.samples, s)
					tr.mu.Unlock()
				}
				select {
				case <-ctx.Done():
				case <-time.After(pause):
				}
			}
		})
	}
	t.Cleanup(tr.stop)
	return tr
}

// now is the time since the traffic started, to mark a fault.
func (tr *traffic) now() time.Duration { return time.Since(tr.start) }

func (tr *traffic) stop() {
	tr.cancel()
	tr.wg.Wait()
}

// window sums up the requests that began between from and to.
type window struct {
	n, failed, hits int
	max, p99        time.Duration
	perSecond       float64
	statuses        map[int]int
}

func (w window) String() string {
	return fmt.Sprintf("%d requests (%.0f/s), %d failed, %d page hits, p99 %s, max %s, statuses %v",
		w.n, w.perSecond, w.failed, w.hits, w.p99.Round(time.Millisecond), w.max.Round(time.Millisecond), w.statuses)
}

func (tr *traffic) between(from, to time.Duration) window {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var in []sample
	for _, s := range tr.samples {
		if s.at >= from && s.at < to {
			in = append(in, s)
		}
	}
	return summarize(in, from, to)
}

// recent sums up the last n requests that began after from (all of them
// when fewer did): what the shop does now, in a number of requests rather
// than of seconds, which a busy machine fits fewer of.
func (tr *traffic) recent(n int, from time.Duration) window {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var in []sample
	for _, s := range tr.samples {
		if s.at >= from {
			in = append(in, s)
		}
	}
	slices.SortFunc(in, func(a, b sample) int { return cmp.Compare(a.at, b.at) })
	in = in[max(0, len(in)-n):]
	if len(in) == 0 {
		return summarize(nil, from, from)
	}
	return summarize(in, in[0].at, in[len(in)-1].at+in[len(in)-1].took)
}

// summarize sums up samples, which ran between from and to.
func summarize(samples []sample, from, to time.Duration) window {
	w := window{statuses: map[int]int{}}
	var took []time.Duration
	for _, s := range samples {
		w.n++
		w.statuses[s.status]++
		if s.status == 0 || s.status >= 500 {
			w.failed++
		}
		if s.cache == "HIT" {
			w.hits++
		}
		took = append(took, s.took)
	}
	if len(took) > 0 {
		slices.Sort(took)
		w.max = took[len(took)-1]
		w.p99 = took[min(len(took)-1, len(took)*99/100)]
	}
	if to > from {
		w.perSecond = float64(w.n) / (to - from).Seconds()
	}
	return w
}

// anonymousStep asks for one of paths at random, as a visitor without a
// session.
func anonymousStep(base string, paths []string) func(ctx context.Context, worker int, r *rand.Rand) *http.Response {
	client := &http.Client{Timeout: 10 * time.Second}
	return func(ctx context.Context, _ int, r *rand.Rand) *http.Response {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+paths[r.IntN(len(paths))], nil)
		res, err := client.Do(req)
		if err != nil {
			return nil
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
}

// proxy is a TCP proxy in front of PostgreSQL that a test can cut: its
// connections dropped, new ones refused, as when the server restarts.
type proxy struct {
	t      *testing.T
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{}
}

func startProxy(t *testing.T, target string) *proxy {
	p := &proxy{t: t, target: target, conns: map[net.Conn]struct{}{}}
	p.listen("127.0.0.1:0")
	t.Cleanup(p.down)
	return p
}

func (p *proxy) listen(addr string) {
	var ln net.Listener
	var err error
	for try := 0; try < 50; try++ { // the port of a closed listener may take a moment to free
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatalf("proxy: %v", err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.pipe(c)
		}
	}()
}

func (p *proxy) pipe(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[c], p.conns[up] = struct{}{}, struct{}{}
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
	c.Close()
	up.Close()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}

// down drops every connection and refuses new ones.
func (p *proxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
}

// up accepts connections again, on the same address.
func (p *proxy) up() { p.listen(p.addr) }
