// Package background runs the goroutines a part of the shop starts beyond
// a request (a refresh, a retry, a warm-up), so that its Close stops them
// and waits for them: nothing the shop starts outlives the shop.
package background

import (
	"context"
	"sync"
)

// A Group runs goroutines on a context of its own, which Close cancels
// before it waits for them. The zero Group is not usable: call New.
type Group struct {
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

// New returns a running group.
func New() *Group {
	ctx, cancel := context.WithCancel(context.Background())
	return &Group{ctx: ctx, cancel: cancel}
}

// Go runs fn in a goroutine of the group, on a context that Close
// cancels, and reports whether it did: not once the group is closed.
func (g *Group) Go(fn func(ctx context.Context)) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		fn(g.ctx)
	}()
	return true
}

// Close cancels the group's context and waits until every goroutine of
// the group has returned. Later calls of Go do nothing; Close may be
// called more than once.
func (g *Group) Close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	g.cancel()
	g.wg.Wait()
}
