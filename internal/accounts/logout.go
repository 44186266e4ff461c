package accounts

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Ending sessions that the store could not delete at logout.
//
// A logout must end the session even while the sessions store is down
// (on a shared computer, the next person must not find the previous one
// logged in once the store is back). The browser's cookie is cleared at
// once; the session's key is kept here and deleted as soon as the store
// answers again, retried with backoff, and this instance refuses the
// session meanwhile.
//
// Why a queue in memory rather than a revocation record: a record would
// have to be written somewhere that is up while the sessions store is not
// (the database), and read on every request of every logged-in user; the
// queue costs nothing while the store is up, and the store, once back, is
// where the session is ended for every instance. What it cannot do: it is
// bounded (anybody can post /logout with a made-up cookie, so at most
// MaxPendingLogouts keys wait), and it lives in this process, so a session
// whose key was still waiting when the process stopped, or did not fit,
// lasts until its idle timeout. Its cookie is gone from the browser all
// the same.
const MaxPendingLogouts = 10_000

// Backoff of the retries: from the first to the last, doubling, with
// jitter so that instances do not retry in step.
const (
	endRetryFirst = 250 * time.Millisecond
	endRetryMax   = 5 * time.Second
	// endBatch bounds the keys one retry deletes in one call.
	endBatch = 500
)

// ErrLogoutPending reports a logout whose session the store could not
// delete: the cookie can be cleared, and the session is ended once the
// store is back. It wraps ErrSessionsDown.
var ErrLogoutPending = errors.New("the session will be ended once the sessions store is back")

// endings are the session keys (digests, never tokens) waiting to be
// deleted, and the one goroutine that retries them while there are some.
type endings struct {
	ctx    context.Context // cancelled by Close: stops the retries
	cancel context.CancelFunc
	wg     sync.WaitGroup

	n       atomic.Int64 // len(keys), read without the lock on every session lookup
	mu      sync.Mutex
	keys    map[string]struct{}
	running bool // a retry goroutine is running
	closed  bool
}

func newEndings() *endings {
	ctx, cancel := context.WithCancel(context.Background())
	return &endings{ctx: ctx, cancel: cancel, keys: map[string]struct{}{}}
}

// pending reports whether key waits to be deleted.
func (e *endings) pending(key string) bool {
	if e.n.Load() == 0 {
		return false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.keys[key]
	return ok
}

// add queues key and starts the retries with del when they are not
// running. It reports false when the queue is full or closed.
func (e *endings) add(key string, del func(ctx context.Context, keys []string) error) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return false
	}
	if _, ok := e.keys[key]; !ok {
		if len(e.keys) >= MaxPendingLogouts {
			return false
		}
		e.keys[key] = struct{}{}
		e.n.Store(int64(len(e.keys)))
	}
	if !e.running {
		e.running = true
		e.wg.Add(1)
		go e.retry(del)
	}
	return true
}

// batch returns up to endBatch waiting keys.
func (e *endings) batch() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]string, 0, min(len(e.keys), endBatch))
	for k := range e.keys {
		if len(out) == endBatch {
			break
		}
		out = append(out, k)
	}
	return out
}

// done removes deleted keys and reports whether any are left; when none
// are, the retry goroutine is over (under the lock, so that an add right
// after starts a new one).
func (e *endings) done(keys []string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, k := range keys {
		delete(e.keys, k)
	}
	e.n.Store(int64(len(e.keys)))
	if len(e.keys) == 0 {
		e.running = false
		return false
	}
	return true
}

// retry deletes the waiting keys until there are none or Close is called.
func (e *endings) retry(del func(ctx context.Context, keys []string) error) {
	defer e.wg.Done()
	wait := endRetryFirst
	for {
		t := time.NewTimer(wait/2 + rand.N(wait/2))
		select {
		case <-e.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		keys := e.batch()
		ctx, cancel := context.WithTimeout(e.ctx, 5*time.Second)
		err := del(ctx, keys)
		cancel()
		if err != nil {
			wait = min(2*wait, endRetryMax)
			continue
		}
		if !e.done(keys) {
			return
		}
		wait = endRetryFirst
	}
}

// close stops the retries, after one last attempt bounded by a second.
func (e *endings) close(del func(ctx context.Context, keys []string) error) {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	e.cancel()
	e.wg.Wait()
	if keys := e.batch(); len(keys) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if del(ctx, keys) == nil {
			e.done(keys)
		}
	}
}
