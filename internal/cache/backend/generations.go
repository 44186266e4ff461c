package backend

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"example.com/shop/internal/cache"
)

// majority is the store of the tag generations on servers whose client
// moves keys between them when one fails (memcached). It keeps every key
// on several servers at once, its copies, and never moves it: a read or
// a write needs a majority of the copies, so one server down of three
// stops nothing, and a server that comes back with old generations
// (frozen past its down-mark, or cut off) cannot bring them back.
//
// The copies of a key are its first servers in rendezvous order: all the
// servers when there are an odd number of them, one fewer when even (a
// fourth copy tolerates no more failures than three), at most five. A
// majority is 2 of 3, 3 of 5; with one or two servers a key has one copy,
// on its first server, which must answer.
//
// What makes it safe is that a copy only goes up (memcached's incr is
// atomic, and a copy is only ever raised to a value, never set to one),
// and that any two majorities share a copy:
//
//   - An increment reads the copies, adds delta to the highest, and raises
//     every copy that answered to that value. It succeeds only when a
//     majority got there; one that failed is kept and retried by Tags.
//   - A read returns the highest value of a majority of copies, and first
//     raises the lower ones it saw to it, so that a value, once read, is
//     held by a majority and the next increment starts above it, even when
//     it came from an increment that reached a minority and failed.
//   - A read or an increment is only trusted when a majority of the copies
//     hold the key: a copy that is missing (evicted, or its server
//     restarted empty) may have held the highest value, so a key held by
//     a minority is ErrMiss, and Tags starts it afresh, at the current
//     time in nanoseconds, above anything it can have had, as for a
//     generation evicted from a single store. A copy that is missing is
//     filled only by such a start, never with another copy's value.
//   - Fewer than a majority of the copies answering is an error: Tags
//     then bypasses the cache, and keeps and retries an invalidation.
//
// So every majority that answers a read includes a copy that saw every
// increment that succeeded before it, and a server that was frozen holds
// lower values, which lose to that copy's and are raised when read.
//
// Servers taken for down are asked only when the others are not enough,
// so a frozen server costs one timeout per down-mark, not one per call. A
// read returns as soon as each key has a majority of answers that decide
// it; an increment waits for every server it asked, so that the copies
// stay together (a call may thus wait out one timeout before its second
// round trip: give it a deadline of a few).
//
// Values that are not generations (the change listener's mark) are kept
// on the same copies: Set writes them to every copy it reaches, and a read
// returns the first copy's in rendezvous order. They get no guarantee
// beyond that, and a generation must never be Set: Set overwrites, and
// could take a copy down.
type majority struct {
	copies []cache.Store          // one per server, each of which keeps a key where it is
	order  func(key string) []int // the servers of a key, best first
	down   func(server int) bool  // left out for now: asked only when the others are not enough
	n      int                    // copies of each key
	quorum int                    // a majority of n
}

const maxCopies = 5

// errNoMajority reports a call that fewer than a majority of a key's
// copies answered or carried out.
var errNoMajority = errors.New("cache: not a majority of the generation's copies")

// newMajority returns the store on the servers of copies (one Store per
// server), ranked for a key by order and left out while down says so.
func newMajority(copies []cache.Store, order func(string) []int, down func(int) bool) *majority {
	n := min(len(copies), maxCopies)
	if n%2 == 0 {
		n--
	}
	return &majority{copies: copies, order: order, down: down, n: n, quorum: n/2 + 1}
}

// servers returns the servers of key's copies, best first.
func (g *majority) servers(key string) []int { return g.order(key)[:g.n] }

// held is what a key's copies answered a read.
type held struct {
	servers  []int          // the key's copies, best first
	answered map[int]bool   // the servers that answered
	values   map[int][]byte // what those that have the key hold
}

// decided reports whether more answers cannot change what the read says:
// a majority holds the key, or enough lack it that no majority can.
func (g *majority) decided(h *held) bool {
	missing := len(h.answered) - len(h.values)
	return len(h.values) >= g.quorum || missing > g.n-g.quorum
}

// numbers returns the values held as numbers, and false when one is not.
func (h *held) numbers() (map[int]int64, bool) {
	out := make(map[int]int64, len(h.values))
	for s, v := range h.values {
		n, err := parseGeneration(v)
		if err != nil {
			return nil, false
		}
		out[s] = n
	}
	return out, true
}

// first returns the value of the best-ranked copy that has the key.
func (h *held) first() []byte {
	for _, s := range h.servers {
		if v, ok := h.values[s]; ok {
			return v
		}
	}
	return nil
}

// parseGeneration reads a number; memcached may pad one it decremented
// with spaces.
func parseGeneration(b []byte) (int64, error) {
	return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
}

func highest(nums map[int]int64) int64 {
	top := int64(0)
	first := true
	for _, n := range nums {
		if first || n > top {
			top, first = n, false
		}
	}
	return top
}

// read asks the copies of keys what they hold: the servers not taken for
// down, then, for the keys still undecided, the others. Unless every is
// set, it returns once every key is decided, without waiting for the
// slower servers. It fails when some key was answered by fewer than a
// majority of its copies.
func (g *majority) read(ctx context.Context, keys []string, every bool) (map[string]*held, error) {
	reads := make(map[string]*held, len(keys))
	for _, k := range keys {
		if reads[k] == nil {
			reads[k] = &held{servers: g.servers(k), answered: map[int]bool{}, values: map[int][]byte{}}
		}
	}
	type answer struct {
		server int
		keys   []string
		values map[string][]byte
		err    error
	}
	answers := make(chan answer, len(g.copies)) // each server is asked once: nobody blocks
	asked := make([]bool, len(g.copies))
	waiting := 0
	ask := func(evenDown bool) {
		batches := map[int][]string{}
		for k, h := range reads {
			if g.decided(h) {
				continue
			}
			for _, s := range h.servers {
				if !asked[s] && (evenDown || !g.down(s)) {
					batches[s] = append(batches[s], k)
				}
			}
		}
		for s, batch := range batches {
			asked[s] = true
			waiting++
			go func() {
				values, err := g.copies[s].GetMany(ctx, batch)
				answers <- answer{server: s, keys: batch, values: values, err: err}
			}()
		}
	}
	undecided := func() bool {
		for _, h := range reads {
			if !g.decided(h) {
				return true
			}
		}
		return false
	}

	ask(false)
	secondWave := false
	for waiting > 0 || undecided() {
		if waiting == 0 {
			if secondWave {
				break
			}
			secondWave = true
			if ask(true); waiting == 0 {
				break
			}
		}
		if !every && !undecided() {
			break
		}
		select {
		case a := <-answers:
			waiting--
			if a.err != nil {
				continue
			}
			for _, k := range a.keys {
				h := reads[k]
				h.answered[a.server] = true
				if v, ok := a.values[k]; ok {
					h.values[a.server] = v
				}
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	for k, h := range reads {
		if len(h.answered) < g.quorum {
			return nil, fmt.Errorf("read %s: %d of its %d copies answered: %w", k, len(h.answered), g.n, errNoMajority)
		}
	}
	return reads, nil
}

// raise adds to copies of keys (key -> server -> delta) what brings each
// to its target, and reports for each key how many copies got there. An
// increment meeting a concurrent one only ends higher, never lower.
func (g *majority) raise(ctx context.Context, deltas map[string]map[int]int64) map[string]int {
	type step struct {
		key   string
		delta int64
	}
	plans := map[int][]step{}
	for k, byServer := range deltas {
		for s, d := range byServer {
			plans[s] = append(plans[s], step{k, d})
		}
	}
	done := make(chan []string, len(plans))
	for s, steps := range plans {
		go func() {
			var raised []string
			for _, st := range steps {
				_, err := g.copies[s].Incr(ctx, st.key, st.delta)
				if errors.Is(err, cache.ErrMiss) {
					continue // gone meanwhile: only a fresh start fills it again
				}
				if err != nil {
					break // the server is in trouble: the rest would fail as well
				}
				raised = append(raised, st.key)
			}
			done <- raised
		}()
	}
	counts := map[string]int{}
	for range plans {
		select {
		case raised := <-done:
			for _, k := range raised {
				counts[k]++
			}
		case <-ctx.Done():
			return counts
		}
	}
	return counts
}

// everywhere runs call on the copies of key (those taken for down only
// when fewer than a majority of the others answered) and reports how many
// answered and how many said yes. It fails when fewer than a majority
// answered.
func (g *majority) everywhere(ctx context.Context, op, key string, call func(cache.Store) (bool, error)) (yes int, err error) {
	servers := g.servers(key)
	type result struct {
		yes bool
		err error
	}
	results := make(chan result, len(servers))
	asked := make([]bool, len(servers))
	waiting, answered := 0, 0
	ask := func(evenDown bool) {
		for i, s := range servers {
			if !asked[i] && (evenDown || !g.down(s)) {
				asked[i] = true
				waiting++
				go func() {
					ok, err := call(g.copies[s])
					results <- result{ok, err}
				}()
			}
		}
	}
	ask(false)
	secondWave := false
	var errs []error
	for {
		if waiting == 0 {
			if secondWave || answered >= g.quorum {
				break
			}
			secondWave = true
			if ask(true); waiting == 0 {
				break
			}
		}
		select {
		case r := <-results:
			waiting--
			if r.err != nil {
				errs = append(errs, r.err)
				continue
			}
			answered++
			if r.yes {
				yes++
			}
		case <-ctx.Done():
			return yes, ctx.Err()
		}
	}
	if answered < g.quorum {
		return yes, fmt.Errorf("%s %s: %d of its %d copies answered: %w", op, key, answered, g.n, errors.Join(append(errs, errNoMajority)...))
	}
	return yes, nil
}

// Get returns the highest value of a majority of key's copies, or ErrMiss
// when fewer than a majority hold it.
func (g *majority) Get(ctx context.Context, key string) ([]byte, error) {
	got, err := g.GetMany(ctx, []string{key})
	if err != nil {
		return nil, err
	}
	v, ok := got[key]
	if !ok {
		return nil, cache.ErrMiss
	}
	return v, nil
}

// GetMany is Get for several keys at once, in one round trip to each
// server (and one more for the copies it raises).
func (g *majority) GetMany(ctx context.Context, keys []string) (map[string][]byte, error) {
	reads, err := g.read(ctx, keys, false)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(reads))
	lower := map[string]map[int]int64{}
	holding := map[string]int{}
	for k, h := range reads {
		if len(h.values) < g.quorum {
			continue // held by a minority: a miss
		}
		nums, ok := h.numbers()
		if !ok {
			out[k] = h.first()
			continue
		}
		top := highest(nums)
		out[k] = strconv.AppendInt(nil, top, 10)
		for s, n := range nums {
			if n == top {
				holding[k]++
				continue
			}
			if lower[k] == nil {
				lower[k] = map[int]int64{}
			}
			lower[k][s] = top - n
		}
	}
	if len(lower) == 0 {
		return out, nil
	}
	// The lower copies are raised even where a majority already holds the
	// highest value: a thawed server catches up with the generations
	// read, instead of lagging until the next failure makes it count.
	raised := g.raise(ctx, lower)
	for k := range lower {
		if holding[k]+raised[k] < g.quorum {
			return nil, fmt.Errorf("read %s: %d of its %d copies hold its highest value: %w", k, holding[k]+raised[k], g.n, errNoMajority)
		}
	}
	return out, nil
}

// Incr adds delta to the highest value of key's copies and raises every
// copy that answers to the sum, which it returns once a majority holds
// it. A key held by fewer than a majority is ErrMiss. A generation only
// goes up: a negative delta is ErrUnsupported.
func (g *majority) Incr(ctx context.Context, key string, delta int64) (int64, error) {
	if delta < 0 {
		return 0, fmt.Errorf("decrement %s: a generation only goes up: %w", key, cache.ErrUnsupported)
	}
	reads, err := g.read(ctx, []string{key}, true)
	if err != nil {
		return 0, err
	}
	h := reads[key]
	if len(h.values) < g.quorum {
		return 0, cache.ErrMiss
	}
	nums, ok := h.numbers()
	if !ok {
		return 0, fmt.Errorf("increment %s: a copy holds something other than a number", key)
	}
	target := highest(nums) + delta
	holding := 0
	steps := map[int]int64{}
	for s, n := range nums {
		if n >= target {
			holding++
		} else {
			steps[s] = target - n
		}
	}
	if len(steps) > 0 {
		holding += g.raise(ctx, map[string]map[int]int64{key: steps})[key]
	}
	if holding < g.quorum {
		return 0, fmt.Errorf("increment %s: %d of its %d copies reached %d: %w", key, holding, g.n, target, errNoMajority)
	}
	return target, nil
}

// Add starts key when fewer than a majority of its copies hold it: it
// stores value on the copies that lack it, in rendezvous order, stopping
// at the first that another caller filled meanwhile (so that of callers
// starting a key together, one wins), and reports whether a majority took
// its value. When a copy left of the key holds a number at least as high
// as value, it stores the number above that instead: a start is never
// lower than what a copy still holds.
func (g *majority) Add(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	reads, err := g.read(ctx, []string{key}, true)
	if err != nil {
		return false, err
	}
	h := reads[key]
	if len(h.values) >= g.quorum {
		return false, nil
	}
	seed := value
	if n, err := parseGeneration(value); err == nil {
		if nums, ok := h.numbers(); ok && len(nums) > 0 {
			if top := highest(nums); top >= n {
				seed = strconv.AppendInt(nil, top+1, 10)
			}
		}
	}
	stored := 0
	for _, s := range h.servers {
		if _, has := h.values[s]; has || !h.answered[s] {
			continue
		}
		added, err := g.copies[s].Add(ctx, key, seed, ttl)
		if err != nil {
			continue
		}
		if !added {
			break
		}
		stored++
	}
	return stored >= g.quorum, nil
}

// Set writes value to every copy of key it reaches, and fails unless a
// majority took it. It is for values that are not generations (see
// majority).
func (g *majority) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	_, err := g.everywhere(ctx, "set", key, func(s cache.Store) (bool, error) { return true, s.Set(ctx, key, value, ttl) })
	return err
}

func (g *majority) SetMany(ctx context.Context, items []cache.Item) error {
	var first error
	for _, it := range items {
		if err := g.Set(ctx, it.Key, it.Value, it.TTL); err != nil && first == nil && !errors.Is(err, cache.ErrTooLarge) {
			first = err
		}
	}
	return first
}

// Replace writes value to every copy of key it reaches that holds the
// key, and reports whether a majority did.
func (g *majority) Replace(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	yes, err := g.everywhere(ctx, "replace", key, func(s cache.Store) (bool, error) { return s.Replace(ctx, key, value, ttl) })
	return yes >= g.quorum, err
}

// Delete removes keys from every copy it reaches, and fails unless a
// majority of each key's copies answered. A copy that did not answer
// keeps the key; held by a minority, it is a miss.
func (g *majority) Delete(ctx context.Context, keys ...string) error {
	for _, k := range keys {
		if _, err := g.everywhere(ctx, "delete", k, func(s cache.Store) (bool, error) { return true, s.Delete(ctx, k) }); err != nil {
			return err
		}
	}
	return nil
}

// DeleteIf removes key from the copies that hold value, and reports
// whether one did.
func (g *majority) DeleteIf(ctx context.Context, key string, value []byte) (bool, error) {
	yes, err := g.everywhere(ctx, "delete", key, func(s cache.Store) (bool, error) { return s.DeleteIf(ctx, key, value) })
	return yes > 0, err
}

// Touch gives every copy of key it reaches a new ttl, and reports whether
// a majority holds the key.
func (g *majority) Touch(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	yes, err := g.everywhere(ctx, "touch", key, func(s cache.Store) (bool, error) { return s.Touch(ctx, key, ttl) })
	return yes >= g.quorum, err
}

func (g *majority) Scan(context.Context, string, func([]string) bool) error {
	return cache.ErrUnsupported
}

func (g *majority) Close() error {
	var errs []error
	for _, c := range g.copies {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

var _ cache.Store = (*majority)(nil)
