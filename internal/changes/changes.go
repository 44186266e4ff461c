// Package changes is where the caches' invalidations come from: the
// rows a write changed. The database's triggers (db/migrations/00008)
// record, in the writing transaction, every row each statement changed
// (as it was before and after), in the change log, and notify the shop's
// instances when, and only if, the transaction commits. A Listener turns
// each change into the tags it makes out of date, through the Rules the
// domains declare per table (rows.go), and invalidates them. Every write
// takes that one way, the shop's own and a psql session's alike: no rule
// is written for an event, so none can be missing for one.
//
// How stale: the shop's own write does not return to its client before
// its instance has applied its invalidations (Sync). A write from outside
// is invalidated once its notification arrives, a few milliseconds after
// its commit (ExternalBound is the bound the tests hold it to). The
// invalidation never runs on a request's context and needs no read after
// the commit: the rows come with the notification, or from the log. An
// invalidation that cannot reach the cache is kept and retried by the
// Tags (which bypass the cache meanwhile), and every other instance
// applies the same change from its own notification, so it survives the
// process that wrote. A listener that loses its connection replays the
// log from its last mark when it is back, and invalidates everything only
// when its mark is older than the log.
package changes

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"example.com/shop/internal/cache"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ExternalBound is how long after its commit a write from outside the shop
// may still be unseen by a cached read.
const ExternalBound = time.Second

// SyncTimeout is how long a write waits for its invalidations before it
// returns anyway (the listener applies them when it can).
const SyncTimeout = 5 * time.Second

// Channel is the notification channel of the triggers.
const Channel = "shop_changes"

// Invalidator is where the listener invalidates: cache.Tags.
type Invalidator interface {
	Invalidate(ctx context.Context, tags ...string) error
}

// Marks keeps a value by name beside the tag generations, where the
// instances that share a cache share it: cache.Tags.
type Marks interface {
	Note(ctx context.Context, name string, value []byte, ttl time.Duration) error
	Noted(ctx context.Context, name string) ([]byte, error)
}

// seenMark names the mark of the last change processed.
const seenMark = "changes-seen"

// Config is what a Listener listens to and invalidates.
type Config struct {
	// Pool is a pool on the database: the listener connects as it does
	// (its own connection, outside the pool), and the writers' barriers go
	// through it (Sync).
	Pool *pgxpool.Pool
	// Rules turn row changes into tags, and Tags invalidates them.
	Rules Rules
	Tags  Invalidator
	// Everything invalidates every cached entry: for a change too large
	// to be recorded row by row, or a gap in what the listener heard.
	Everything func(ctx context.Context) error
	// Marks keep the last change processed (cache.Tags).
	Marks  Marks
	Logger *slog.Logger
}

// Listener listens for row changes and applies their invalidations.
type Listener struct {
	cfg    Config
	logger *slog.Logger
	id     string // tells this listener's barriers from other instances'

	// CacheInUse, when set before Run, tells whether the cache holds
	// anything the shop could serve. It tells a first start from a gap
	// when no mark of the changes processed is found: on a cache never
	// used (or one that lost everything) there is nothing to have missed,
	// and nothing worth saying; on one in use the mark was lost (evicted),
	// which an operator should hear of. Nil: a missing mark counts as a
	// first start.
	CacheInUse func(ctx context.Context) (bool, error)
	// Observe, when set before Run, is called after every change applied,
	// for metrics: its table, the error, the time taken.
	Observe func(table string, err error, took time.Duration)

	readyOnce sync.Once
	ready     chan struct{}
	processed atomic.Int64 // the highest change number whose rules have run

	running  atomic.Bool
	barriers atomic.Int64
	mu       sync.Mutex
	waiting  map[string]chan struct{} // the writers waiting in Sync, by barrier
}

// NewListener returns a listener of cfg.
func NewListener(cfg Config) *Listener {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Listener{cfg: cfg, logger: logger, id: rand.Text()[:12],
		ready: make(chan struct{}), waiting: map[string]chan struct{}{}}
}

// Ready is closed once the listener has listened and caught up for the
// first time.
func (l *Listener) Ready() <-chan struct{} { return l.ready }

// Processed returns the highest change number (shop_change_seq) this
// listener has handled: the rules of every change up to it have run here.
// Against the sequence's current value it says how far behind the
// database the instance is; a test waits on it for an instance to have
// heard a write.
func (l *Listener) Processed() int64 { return l.processed.Load() }

// ErrLate reports a write whose invalidations were not applied within
// SyncTimeout; the listener applies them when it can.
var ErrLate = errors.New("changes: the invalidations of a write are late")

// Sync returns once this instance has applied the invalidations of every
// write committed before it was called: a write calls it after its commit
// and before it answers, so that its client never reads what it replaced.
// It sends a barrier on the changes' channel. PostgreSQL delivers
// notifications in commit order, so by the time the listener hears the
// barrier it has handled every change committed before it. Sync gives up
// after SyncTimeout, or when ctx ends (the invalidations still happen: a
// client that went away cannot stop them). A listener that is not run
// applies nothing here, and Sync returns at once: a process that serves no
// cached reads (a command, a job) has nothing to wait for, and the
// instances that serve apply its writes from their notifications.
func (l *Listener) Sync(ctx context.Context) error {
	if l == nil || !l.running.Load() {
		return nil
	}
	token := l.id + "/" + strconv.FormatInt(l.barriers.Add(1), 10)
	done := make(chan struct{})
	l.mu.Lock()
	l.waiting[token] = done
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		delete(l.waiting, token)
		l.mu.Unlock()
	}()
	payload, _ := json.Marshal(record{Barrier: token})
	if _, err := l.cfg.Pool.Exec(ctx, `SELECT pg_notify($1, $2)`, Channel, string(payload)); err != nil {
		return fmt.Errorf("changes: send a barrier: %w", err)
	}
	timer := time.NewTimer(SyncTimeout)
	defer timer.Stop()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return ErrLate
	}
}

// release wakes the writers waiting on tokens.
func (l *Listener) release(tokens ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, t := range tokens {
		if done, ok := l.waiting[t]; ok {
			close(done)
			delete(l.waiting, t)
		}
	}
}

// Run listens until ctx ends, reconnecting after every failure.
func (l *Listener) Run(ctx context.Context) {
	l.running.Store(true)
	defer l.running.Store(false)
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := l.listen(ctx)
		if ctx.Err() != nil {
			return
		}
		l.logger.Warn("change listener lost its connection; reconnecting", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (l *Listener) listen(ctx context.Context) error {
	cfg := l.cfg.Pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = "shop-listener"
	cfg.Tracer = nil
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+Channel); err != nil {
		return err
	}
	// The writers waiting now committed before the catch-up reads the
	// log; their barriers may have been sent while nobody listened.
	l.mu.Lock()
	waiting := make([]string, 0, len(l.waiting))
	for t := range l.waiting {
		waiting = append(waiting, t)
	}
	l.mu.Unlock()
	if err := l.catchUp(ctx, conn); err != nil {
		return err
	}
	l.release(waiting...)
	l.readyOnce.Do(func() { close(l.ready) })
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		l.handle(ctx, conn, n.Payload)
	}
}

// LogRetention is how long the change log (db/migrations/00004) keeps a
// change; a mark older than this, less a margin, cannot be caught up from it.
const LogRetention = 24 * time.Hour

// The one change a catch-up cannot see: a transaction that took its change
// number before the last mark and committed while this instance did not
// listen (numbers are taken at each statement, marks follow commits). The
// shop's transactions are short, and every other instance that listened
// applies it; one from outside, committed across a restart of every
// instance, is caught only by the TTLs.

// catchUp replays the changes that may have been missed while nobody of
// this shop listened: those after the last one processed here (or on any
// instance sharing the cache), from the change log. When the mark is
// missing or older than the log, it invalidates everything. It runs after
// LISTEN, so nothing committed from now on can be missed.
func (l *Listener) catchUp(ctx context.Context, conn *pgx.Conn) error {
	var cur int64
	err := conn.QueryRow(ctx, `SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM shop_change_seq`).Scan(&cur)
	if err != nil {
		return fmt.Errorf("read the change sequence: %w", err)
	}
	seen, at, ok, err := l.lastMark(ctx)
	if err != nil {
		// Not "no mark": a store that did not answer. Everything would
		// be invalidated for nothing; try again with the next connection.
		return fmt.Errorf("read the mark of the changes processed: %w", err)
	}
	switch {
	case ok && seen >= cur:
		// Nothing missed.
	case ok && time.Since(at) < LogRetention-time.Hour:
		rows, err := conn.Query(ctx, `SELECT payload FROM shop_change_log WHERE seq > $1 ORDER BY seq`, seen)
		if err != nil {
			return fmt.Errorf("read the change log: %w", err)
		}
		payloads, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("read the change log: %w", err)
		}
		for _, p := range payloads {
			l.handle(ctx, conn, p)
		}
		if len(payloads) > 0 {
			l.logger.Info("caught up with the changes made while not listening", "changes", len(payloads), "sequence", cur, "processed", seen)
		}
	default:
		l.sayWhyEverything(ctx, ok, at, cur, seen)
		// Also on a first start, where it only starts the aliases'
		// generations: cheaper than being wrong about "first".
		if err := l.cfg.Everything(ctx); err != nil {
			return err
		}
	}
	l.mark(ctx, cur)
	return nil
}

// sayWhyEverything logs why a catch-up invalidates everything, at a level
// that fits: a first start (no mark, and a cache with nothing in it) is
// the normal start of a new shop or of a process with a memory store, and
// says nothing above debug; a mark too old for the change log follows a
// long stop; a lost mark on a cache in use means the store evicts what it
// should not.
func (l *Listener) sayWhyEverything(ctx context.Context, marked bool, at time.Time, cur, seen int64) {
	if marked {
		l.logger.Info("the shop has not listened for database changes since longer than the change log keeps: invalidating every cached entry",
			"since", at.Format(time.RFC3339), "log_keeps", LogRetention, "sequence", cur, "processed", seen)
		return
	}
	inUse := false
	if l.CacheInUse != nil {
		var err error
		if inUse, err = l.CacheInUse(ctx); err != nil {
			inUse = true // cannot tell: say the worse
		}
	}
	if inUse {
		l.logger.Warn("the mark of the database changes processed is gone from a cache in use (evicted?): invalidating every cached entry",
			"sequence", cur)
		return
	}
	l.logger.Debug("first start on this cache: no database changes to catch up", "sequence", cur)
}

// lastMark returns the last change processed and when it was marked; ok
// is false when there is no (readable) mark, err when the store did not
// answer.
func (l *Listener) lastMark(ctx context.Context) (seq int64, at time.Time, ok bool, err error) {
	b, err := l.cfg.Marks.Noted(ctx, seenMark)
	if errors.Is(err, cache.ErrMiss) {
		return -1, time.Time{}, false, nil
	}
	if err != nil {
		return -1, time.Time{}, false, err
	}
	s, unix, found := strings.Cut(string(b), "@")
	seq, err1 := strconv.ParseInt(s, 10, 64)
	sec, err2 := strconv.ParseInt(unix, 10, 64)
	if !found || err1 != nil || err2 != nil {
		return -1, time.Time{}, false, nil
	}
	return seq, time.Unix(sec, 0), true, nil
}

func (l *Listener) mark(ctx context.Context, seq int64) {
	_ = l.cfg.Marks.Note(ctx, seenMark, []byte(fmt.Sprintf("%d@%d", seq, time.Now().Unix())), 30*24*time.Hour)
	for {
		// Notifications come in commit order, not number order: keep the
		// highest.
		old := l.processed.Load()
		if seq <= old || l.processed.CompareAndSwap(old, seq) {
			return
		}
	}
}

// handle applies one notification: a change's invalidations, or a
// writer's barrier.
func (l *Listener) handle(ctx context.Context, conn *pgx.Conn, payload string) {
	rec, err := parseRecord(payload)
	if err != nil {
		l.logger.Error("unreadable change notification: invalidating everything", "err", err)
		_ = l.cfg.Everything(ctx)
		return
	}
	if rec.Barrier != "" {
		if strings.HasPrefix(rec.Barrier, l.id+"/") {
			l.release(rec.Barrier)
		}
		return
	}
	if rec.Logged {
		err := conn.QueryRow(ctx, `SELECT payload FROM shop_change_log WHERE seq = $1`, rec.Seq).Scan(&payload)
		if err == nil {
			rec, err = parseRecord(payload)
		}
		if err != nil {
			if ctx.Err() != nil {
				return // not marked: the catch-up of the next start replays it
			}
			l.logger.Error("change not found in the log: invalidating everything", "seq", rec.Seq, "err", err)
			rec.All = true
		}
	}
	start := time.Now()
	var tags []string
	if rec.All {
		err = l.cfg.Everything(ctx)
	} else {
		tags = l.cfg.Rules.Tags(pair(rec.Table, rec.Old, rec.New))
		// A failed invalidation is kept and retried by the tags, which
		// bypass the cache until it has gone through.
		err = l.cfg.Tags.Invalidate(ctx, tags...)
	}
	if l.Observe != nil {
		l.Observe(rec.Table, err, time.Since(start))
	}
	if err != nil {
		l.logger.Warn("invalidation of a change failed; retrying in the background", "table", rec.Table, "seq", rec.Seq, "err", err)
	}
	l.mark(ctx, rec.Seq)
}
