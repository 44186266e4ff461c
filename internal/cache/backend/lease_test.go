package backend_test

import (
	"bufio"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"example.com/shop/internal/cache"
	"example.com/shop/internal/cache/backend"
	"example.com/shop/internal/cache/cachetest"
)

// TestMain lets the test binary be a lease holder of its own process
// (LEASE_HOLDER=1), which a test can freeze and kill.
func TestMain(m *testing.M) {
	if os.Getenv("LEASE_HOLDER") == "1" {
		holdLease()
		return
	}
	cachetest.QuietRedis()
	os.Exit(m.Run())
}

// counted is a store that counts its reads of generations: how many round
// trips the Tags made.
type counted struct {
	cache.Store
	reads atomic.Int64
}

func (c *counted) GetMany(ctx context.Context, keys []string) (map[string][]byte, error) {
	c.reads.Add(1)
	return c.Store.GetMany(ctx, keys)
}

// leased returns Tags under prefix on the shared Redis with a lease of
// ttl, once the lease is held, and the store they read through.
func leased(t *testing.T, prefix string, ttl time.Duration) (*cache.Tags, *counted, *backend.Lease) {
	t.Helper()
	r := cachetest.RedisStore(t, cachetest.SharedRedisURL())
	store := &counted{Store: r}
	tags := cache.NewTags(store, prefix)
	l := backend.NewLease(r.Client(), prefix+"lease:", tags.Forget, ttl, nil)
	tags.UseLease(l)
	t.Cleanup(func() { tags.Close(); l.Close() })
	deadline := time.Now().Add(30 * time.Second)
	for !tags.Leased() {
		if time.Now().After(deadline) {
			t.Fatal("the lease was not held within 30 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return tags, store, l
}

// TestLeaseKeepsGenerationsUntilInvalidated: under a lease, a generation
// once read is answered from memory, and an invalidation on another
// instance has reached this one by the time it returns.
func TestLeaseKeepsGenerationsUntilInvalidated(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	prefix := cachetest.Prefix(t) + ":"
	a, _, _ := leased(t, prefix, backend.LeaseTTL)
	b, bStore, _ := leased(t, prefix, backend.LeaseTTL)

	first, err := b.Current(ctx, []string{"product:1", "product:2"})
	if err != nil {
		t.Fatal(err)
	}
	reads := bStore.reads.Load()
	again, err := b.Current(ctx, []string{"product:1", "product:2"})
	if err != nil {
		t.Fatal(err)
	}
	// Unless a renewal came late (a busy machine), nothing was read.
	if got := bStore.reads.Load(); got != reads && b.Leased() {
		t.Errorf("generations kept under the lease were read again: %d reads, then %d", reads, got)
	}
	if again["product:1"] != first["product:1"] {
		t.Errorf("kept generation %d, read %d", again["product:1"], first["product:1"])
	}

	for i := range 20 {
		if err := a.Invalidate(ctx, "product:1"); err != nil {
			t.Fatal(err)
		}
		want, err := a.Current(ctx, []string{"product:1"})
		if err != nil {
			t.Fatal(err)
		}
		got, err := b.Current(ctx, []string{"product:1", "product:2"})
		if err != nil {
			t.Fatal(err)
		}
		if got["product:1"] != want["product:1"] || got["product:1"] == first["product:1"] {
			t.Fatalf("invalidation %d: the other instance has generation %d after the invalidation returned, the store %d (first %d)",
				i, got["product:1"], want["product:1"], first["product:1"])
		}
		if got["product:2"] != first["product:2"] {
			t.Errorf("a tag nobody invalidated moved: %d, then %d", first["product:2"], got["product:2"])
		}
	}
}

// holder is a lease holder in a process of its own.
type holder struct {
	cmd   *exec.Cmd
	id    string
	in    *os.File
	lines chan string
}

// startHolder starts a lease holder on the Redis at url.
func startHolder(t *testing.T, url, prefix string, ttl time.Duration) *holder {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "LEASE_HOLDER=1", "LEASE_PREFIX="+prefix, "LEASE_TTL="+ttl.String(), "LEASE_REDIS="+url)
	in, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin = in
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	in.Close()
	h := &holder{cmd: cmd, in: w, lines: make(chan string, 16)}
	go func() {
		s := bufio.NewScanner(out)
		for s.Scan() {
			h.lines <- s.Text()
		}
		close(h.lines)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGCONT)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		w.Close()
	})
	held := h.line(t)
	id, ok := strings.CutPrefix(held, "held ")
	if !ok {
		t.Fatalf("the lease holder said %q", held)
	}
	h.id = id
	return h
}

func (h *holder) line(t *testing.T) string {
	t.Helper()
	select {
	case l, ok := <-h.lines:
		if !ok {
			t.Fatal("the lease holder ended")
		}
		return l
	case <-time.After(30 * time.Second):
		t.Fatal("the lease holder said nothing for 30 s")
	}
	return ""
}

// current asks the holder for its generation of tag.
func (h *holder) current(t *testing.T, tag string) int64 {
	t.Helper()
	l := h.answer(t, tag)
	n, err := strconv.ParseInt(l, 10, 64)
	if err != nil {
		t.Fatalf("the lease holder said %q", l)
	}
	return n
}

// answer asks the holder for its generation of tag and returns what it
// said: the number, or the error it met.
func (h *holder) answer(t *testing.T, tag string) string {
	t.Helper()
	fmt.Fprintf(h.in, "%s\n", tag)
	return h.line(t)
}

// holdLease is the lease holder's process: it takes a lease, says so, and
// answers each tag read on stdin with its current generation.
func holdLease() {
	ttl, _ := time.ParseDuration(os.Getenv("LEASE_TTL"))
	prefix := os.Getenv("LEASE_PREFIX")
	// Timeouts short enough that a read through a cut connection fails
	// before the test's own patience ends.
	r, err := backend.NewRedis(backend.RedisOptions{URL: os.Getenv("LEASE_REDIS"), DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	tags := cache.NewTags(r, prefix)
	l := backend.NewLease(r.Client(), prefix+"lease:", tags.Forget, ttl, nil)
	tags.UseLease(l)
	for !tags.Leased() {
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Printf("held %s\n", l.Name())
	s := bufio.NewScanner(os.Stdin)
	for s.Scan() {
		gens, err := tags.Current(context.Background(), []string{s.Text()})
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(gens[s.Text()])
	}
	os.Exit(0)
}

// TestLeaseFrozenAndKilledInstance: a write waits for an instance that
// is frozen (SIGSTOP) only until its lease has run out, and that
// instance, thawed, serves the new generation and never the one it kept;
// a killed instance holds a write up no longer either.
func TestLeaseFrozenAndKilledInstance(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	prefix := cachetest.Prefix(t) + ":"
	ttl := time.Second
	writer, _, _ := leased(t, prefix, ttl)
	h := startHolder(t, cachetest.SharedRedisURL(), prefix, ttl)

	kept := h.current(t, "product:1")
	if err := writer.Invalidate(ctx, "product:1"); err != nil {
		t.Fatal(err)
	}
	if got := h.current(t, "product:1"); got == kept {
		t.Fatalf("a live holder kept generation %d after an invalidation returned", got)
	}
	kept = h.current(t, "product:1")

	cachetest.Stop(t, h.cmd.Process)
	// The write cannot have returned before the frozen holder's lease ran
	// out: when it returns, Redis no longer lists the holder.
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	start := time.Now()
	err := writer.Invalidate(wctx, "product:1")
	took := time.Since(start)
	cancel()
	if err != nil {
		t.Fatalf("the write waited on a frozen instance for %s and failed: %v", took, err)
	}
	if held := leaseHolders(t, prefix); held[strings.Split(h.id, ".")[0]] {
		t.Errorf("the write returned after %s while the frozen instance still held its lease", took)
	}
	t.Logf("a write waited %s for a frozen instance with a lease of %s", took.Round(time.Millisecond), ttl)
	if err := h.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	want, err := writer.Current(ctx, []string{"product:1"})
	if err != nil {
		t.Fatal(err)
	}
	if got := h.current(t, "product:1"); got != want["product:1"] {
		t.Fatalf("the thawed instance answered generation %d (it kept %d), the store has %d", got, kept, want["product:1"])
	}

	// Killed: its lease runs out and the writers go on.
	if err := h.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	wctx, cancel = context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := writer.Invalidate(wctx, "product:1"); err != nil {
		t.Fatalf("a write after an instance was killed: %v", err)
	}
	if held := leaseHolders(t, prefix); held[strings.Split(h.id, ".")[0]] {
		t.Error("the write returned while the killed instance still held its lease")
	}
}

// leaseHolders lists the instances (their ids, without the number of the
// subscription) whose lease under prefix has not run out on Redis's clock.
func leaseHolders(t *testing.T, prefix string) map[string]bool {
	t.Helper()
	c := cachetest.RedisStore(t, cachetest.SharedRedisURL()).Client()
	now, err := c.Time(t.Context()).Result()
	if err != nil {
		t.Fatal(err)
	}
	leases, err := c.ZRangeWithScores(t.Context(), prefix+"lease:leases", 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, z := range leases {
		if z.Score > float64(now.UnixMilli()) {
			out[strings.Split(z.Member.(string), ".")[0]] = true
		}
	}
	return out
}

// TestLeaseCutOffInstance: an instance cut off from Redis without knowing
// it (its connections carry nothing, and are not closed) stops trusting
// the generations it kept once its lease runs out, which is when a write
// on another instance stops waiting for it: it then fails its reads
// rather than answer with what it kept.
func TestLeaseCutOffInstance(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	prefix := cachetest.Prefix(t) + ":"
	ttl := time.Second
	writer, _, _ := leased(t, prefix, ttl)
	shared, err := url.Parse(cachetest.SharedRedisURL())
	if err != nil {
		t.Fatal(err)
	}
	link := cachetest.StartLink(t, shared.Host)
	h := startHolder(t, "redis://"+link.Addr+"/0", prefix, ttl)
	kept := h.current(t, "product:1")

	link.Cut()
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := writer.Invalidate(wctx, "product:1"); err != nil {
		t.Fatalf("a write with an instance cut off: %v", err)
	}
	if got := h.answer(t, "product:1"); got == strconv.FormatInt(kept, 10) {
		t.Fatalf("the cut-off instance answered the generation it kept, %s, after the write returned", got)
	}
	link.Restore()
	deadline := time.Now().Add(30 * time.Second)
	want, err := writer.Current(ctx, []string{"product:1"})
	if err != nil {
		t.Fatal(err)
	}
	for {
		got := h.answer(t, "product:1")
		if got == strconv.FormatInt(want["product:1"], 10) {
			break
		}
		if got == strconv.FormatInt(kept, 10) || time.Now().After(deadline) {
			t.Fatalf("the instance, back in touch, answered %s; the store has %d (it kept %d)", got, want["product:1"], kept)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
