package backend

import (
	"bytes"
	"context"
	"path"
	"strconv"
	"time"

	"example.com/shop/internal/cache"
	"github.com/maypok86/otter/v2"
	"github.com/maypok86/otter/v2/stats"
)

// Memory is an in-process Store, bounded by the bytes it holds, on otter
// (W-TinyLFU admission and eviction: it keeps what is used often, not only
// what was used last). It is the shop's default store: the shop runs with
// no cache server at all.
//
// Each process has its own: with several instances, what one deletes the
// others still hold. Use it alone for one instance, or as the first tier of
// Tiered.
type Memory struct {
	c     *otter.Cache[string, memEntry]
	stats *stats.Counter
	now   func() time.Time // the clock entries expire by
}

type memEntry struct {
	value   []byte
	expires time.Time
}

func (m *Memory) newEntry(value []byte, ttl time.Duration) memEntry {
	return memEntry{value: value, expires: m.now().Add(ttlOrDefault(ttl))}
}

// entryOverhead approximates what an entry costs besides its key and
// value bytes, so that many tiny entries still count against the budget.
const entryOverhead = 64

// NewMemory returns a Memory store holding at most maxBytes of keys and
// values.
func NewMemory(maxBytes int64) *Memory { return NewMemoryAt(maxBytes, nil) }

// NewMemoryAt returns a Memory whose entries expire by now (nil: the real
// time), so that a test can let days pass without waiting for them.
func NewMemoryAt(maxBytes int64, now func() time.Time) *Memory {
	m := &Memory{stats: stats.NewCounter(), now: time.Now}
	var clock otter.Clock
	if now != nil {
		m.now, clock = now, memClock(now)
	}
	m.c = otter.Must(&otter.Options[string, memEntry]{
		MaximumWeight: uint64(maxBytes),
		Weigher: func(k string, e memEntry) uint32 {
			return uint32(len(k) + len(e.value) + entryOverhead)
		},
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[string, memEntry]) time.Duration {
			return max(e.Value.expires.Sub(m.now()), time.Nanosecond)
		}),
		StatsRecorder: m.stats,
		Clock:         clock,
	})
	return m
}

// memClock is a clock given to NewMemoryAt, as otter reads it. It has no
// ticks: expired entries are dropped when read or pushed out, not swept.
type memClock func() time.Time

func (c memClock) NowNano() int64                    { return c().UnixNano() }
func (memClock) Tick(time.Duration) <-chan time.Time { return nil }

// MemoryInfo describes a Memory store's use.
type MemoryInfo struct {
	Entries   int
	Bytes     uint64
	MaxBytes  uint64
	Evictions uint64
	Hits      uint64
	Misses    uint64
}

// Info returns how full the store is and how it has fared.
func (m *Memory) Info() MemoryInfo {
	s := m.c.Stats()
	return MemoryInfo{
		Entries: m.c.EstimatedSize(), Bytes: m.c.WeightedSize(), MaxBytes: m.c.GetMaximum(),
		Evictions: s.Evictions, Hits: s.Hits, Misses: s.Misses,
	}
}

// Flush removes every entry.
func (m *Memory) Flush() { m.c.InvalidateAll() }

func (m *Memory) Get(_ context.Context, key string) ([]byte, error) {
	e, ok := m.c.GetIfPresent(key)
	if !ok {
		return nil, cache.ErrMiss
	}
	return e.value, nil
}

func (m *Memory) GetMany(_ context.Context, keys []string) (map[string][]byte, error) {
	out := make(map[string][]byte, len(keys))
	for _, k := range keys {
		if e, ok := m.c.GetIfPresent(k); ok {
			out[k] = e.value
		}
	}
	return out, nil
}

// Values are copied on the way in: a caller reusing its buffer must not
// change what is cached. Values handed out are shared and must not be
// modified.
func (m *Memory) Set(_ context.Context, key string, value []byte, ttl time.Duration) error {
	m.c.Set(key, m.newEntry(bytes.Clone(value), ttl))
	return nil
}

func (m *Memory) SetMany(ctx context.Context, items []cache.Item) error {
	for _, it := range items {
		_ = m.Set(ctx, it.Key, it.Value, it.TTL)
	}
	return nil
}

func (m *Memory) Add(_ context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	_, added := m.c.SetIfAbsent(key, m.newEntry(bytes.Clone(value), ttl))
	return added, nil
}

func (m *Memory) Replace(_ context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	_, found := m.c.ComputeIfPresent(key, func(memEntry) (memEntry, otter.ComputeOp) {
		return m.newEntry(bytes.Clone(value), ttl), otter.WriteOp
	})
	return found, nil
}

func (m *Memory) Delete(_ context.Context, keys ...string) error {
	for _, k := range keys {
		m.c.Invalidate(k)
	}
	return nil
}

func (m *Memory) DeleteIf(_ context.Context, key string, value []byte) (bool, error) {
	deleted := false
	m.c.ComputeIfPresent(key, func(old memEntry) (memEntry, otter.ComputeOp) {
		if bytes.Equal(old.value, value) {
			deleted = true
			return old, otter.InvalidateOp
		}
		return old, otter.CancelOp
	})
	return deleted, nil
}

func (m *Memory) Incr(_ context.Context, key string, delta int64) (int64, error) {
	var n int64
	var err error
	_, found := m.c.ComputeIfPresent(key, func(old memEntry) (memEntry, otter.ComputeOp) {
		var cur int64
		if cur, err = strconv.ParseInt(string(old.value), 10, 64); err != nil {
			return old, otter.CancelOp
		}
		n = cur + delta
		return memEntry{value: strconv.AppendInt(nil, n, 10), expires: old.expires}, otter.WriteOp
	})
	if !found {
		return 0, cache.ErrMiss
	}
	return n, err
}

func (m *Memory) Touch(_ context.Context, key string, ttl time.Duration) (bool, error) {
	_, found := m.c.ComputeIfPresent(key, func(old memEntry) (memEntry, otter.ComputeOp) {
		return m.newEntry(old.value, ttl), otter.WriteOp
	})
	return found, nil
}

func (m *Memory) Scan(_ context.Context, pattern string, fn func([]string) bool) error {
	if _, err := path.Match(pattern, ""); err != nil {
		return err
	}
	var batch []string
	for k := range m.c.Keys() {
		if ok, _ := path.Match(pattern, k); ok {
			batch = append(batch, k)
		}
		if len(batch) == 500 {
			if !fn(batch) {
				return nil
			}
			batch = nil
		}
	}
	if len(batch) > 0 {
		fn(batch)
	}
	return nil
}

func (m *Memory) Close() error {
	m.c.StopAllGoroutines()
	return nil
}

var _ cache.Store = (*Memory)(nil)
