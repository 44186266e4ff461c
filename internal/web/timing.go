package web

import (
	"context"
	"sync"
	"time"
)

// timing holds the time one request spent rendering templates, for its
// Server-Timing header; the database and the cache count their own.
type timing struct {
	mu     sync.Mutex
	render time.Duration
	holes  []FilledHole // for the debug panel
}

// FilledHole is one hole of a page as this request filled it: which, for
// whom, the cache reads it made and how long it took.
type FilledHole struct {
	Name, For string
	Arg       int64
	Reads     []string // the keys it read, with what each found
	Took      time.Duration
}

func (t *timing) addHole(h FilledHole) {
	if t == nil {
		return
	}
	t.mu.Lock()
	if len(t.holes) < 50 {
		t.holes = append(t.holes, h)
	}
	t.mu.Unlock()
}

func (t *timing) filledHoles() []FilledHole {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]FilledHole(nil), t.holes...)
}

func (t *timing) addRender(d time.Duration) {
	if t == nil {
		return
	}
	t.mu.Lock()
	t.render += d
	t.mu.Unlock()
}

func (t *timing) rendered() time.Duration {
	if t == nil {
		return 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.render
}

type timingKey struct{}

func withTiming(ctx context.Context) (context.Context, *timing) {
	t := &timing{}
	return context.WithValue(ctx, timingKey{}, t), t
}

func timingFrom(ctx context.Context) *timing {
	t, _ := ctx.Value(timingKey{}).(*timing)
	return t
}
