// Package changes makes writes from outside the shop (psql, a bulk
// UPDATE, another service) invalidate the shop's caches. The database's
// triggers (db/migrations/00003) send a notification after every
// statement that changes a table the caches read; PostgreSQL delivers it
// when, and only if, the transaction commits. A Listener turns each into
// the events the shop's own writes publish, so the same rules run.
//
// How stale: a write from outside is invalidated once its notification
// arrives, a few milliseconds after its commit (ExternalBound is the bound
// the tests hold it to). A listener that loses its connection cannot know
// what it missed from the notifications: when it is back, it replays the
// changes logged since the last one the shop processed (the change log
// keeps a day), and invalidates everything only when its mark is older. The shop's own writes invalidate synchronously, before they
// return, and do not wait for their notification.
package changes

import (
	"context"
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
	"example.com/shop/internal/events"
	"github.com/jackc/pgx/v5"
)

// ExternalBound is how long after its commit a write from outside the shop
// may still be unseen by a cached read.
const ExternalBound = time.Second

// Channel is the notification channel of the triggers.
const Channel = "shop_changes"

// Publisher runs the rules of events (events.Bus).
type Publisher interface {
	Publish(ctx context.Context, e events.Event) error
}

// Listener listens for change notifications and publishes their events.
type Listener struct {
	url    string
	origin string // this instance's application_name: its own writes are already invalidated
	bus    Publisher
	marks  cache.Store // where the last processed sequence number is kept, beside the tag generations
	seen   string
	logger *slog.Logger

	// CacheInUse, when set before Run, tells whether the cache holds
	// anything the shop could serve. It tells a first start from a gap
	// when no mark of the changes processed is found: on a cache never
	// used (or one that lost everything) there is nothing to have missed,
	// and nothing worth saying; on one in use the mark was lost (evicted),
	// which an operator should hear of. Nil: a missing mark counts as a
	// first start.
	CacheInUse func(ctx context.Context) (bool, error)

	readyOnce sync.Once
	ready     chan struct{}
	processed atomic.Int64 // the highest change number whose rules have run
}

// NewListener returns a listener on the database at url. origin is the
// application_name of this instance's pool; marks is the store of the tag
// generations (shared by the instances when they share a cache), and
// prefix the cache prefix.
func NewListener(url, origin string, bus Publisher, marks cache.Store, prefix string, logger *slog.Logger) *Listener {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Listener{url: url, origin: origin, bus: bus, marks: marks, seen: prefix + ":changes:seen", logger: logger, ready: make(chan struct{})}
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

// Run listens until ctx ends, reconnecting after every failure.
func (l *Listener) Run(ctx context.Context) {
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
	cfg, err := pgx.ParseConfig(l.url)
	if err != nil {
		return err
	}
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
	if err := l.catchUp(ctx, conn); err != nil {
		return err
	}
	l.readyOnce.Do(func() { close(l.ready) })
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		l.handle(ctx, n.Payload)
	}
}

// LogRetention is how long the change log (db/migrations/00004) keeps a
// change; a mark older than this, less a margin, cannot be caught up from it.
const LogRetention = 24 * time.Hour

// The one change a catch-up cannot see: a transaction that took its change
// number before the last mark and committed while no instance listened
// (numbers are taken at each statement, marks follow commits). The shop's
// own transactions are short; a long one from outside, committed across a
// restart of every instance, is caught only by the TTLs.

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
	seen, at, ok := l.lastMark(ctx)
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
			l.handle(ctx, p)
		}
		if len(payloads) > 0 {
			l.logger.Info("caught up with the changes made while not listening", "changes", len(payloads), "sequence", cur, "processed", seen)
		}
	default:
		l.sayWhyEverything(ctx, ok, at, cur, seen)
		// Also on a first start, where it only starts the aliases'
		// generations: cheaper than being wrong about "first".
		if err := l.bus.Publish(ctx, events.Everything{}); err != nil {
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
			"key", l.seen, "sequence", cur)
		return
	}
	l.logger.Debug("first start on this cache: no database changes to catch up", "sequence", cur)
}

// lastMark returns the last change processed and when it was marked.
func (l *Listener) lastMark(ctx context.Context) (seq int64, at time.Time, ok bool) {
	b, err := l.marks.Get(ctx, l.seen)
	if err != nil {
		return -1, time.Time{}, false
	}
	s, unix, found := strings.Cut(string(b), "@")
	seq, err1 := strconv.ParseInt(s, 10, 64)
	sec, err2 := strconv.ParseInt(unix, 10, 64)
	if !found || err1 != nil || err2 != nil {
		return -1, time.Time{}, false
	}
	return seq, time.Unix(sec, 0), true
}

func (l *Listener) mark(ctx context.Context, seq int64) {
	_ = l.marks.Set(ctx, l.seen, []byte(fmt.Sprintf("%d@%d", seq, time.Now().Unix())), 30*24*time.Hour)
	for {
		// Notifications come in commit order, not number order: keep the
		// highest.
		old := l.processed.Load()
		if seq <= old || l.processed.CompareAndSwap(old, seq) {
			return
		}
	}
}

// notification is the payload of the triggers' notifications.
type notification struct {
	Seq    int64             `json:"seq"`
	Table  string            `json:"table"`
	Op     string            `json:"op"`
	Origin string            `json:"origin"`
	All    bool              `json:"all"`
	Rows   []json.RawMessage `json:"rows"`
}

func (l *Listener) handle(ctx context.Context, payload string) {
	var n notification
	if err := json.Unmarshal([]byte(payload), &n); err != nil {
		l.logger.Error("unreadable change notification: invalidating everything", "err", err)
		_ = l.bus.Publish(ctx, events.Everything{})
		return
	}
	if n.Origin != l.origin {
		evs, err := Events(n.Table, n.All, n.Rows)
		if err != nil {
			l.logger.Error("change notification of an unknown shape: invalidating everything", "table", n.Table, "err", err)
			evs = []events.Event{events.Everything{}}
		}
		for _, e := range evs {
			_ = l.bus.Publish(ctx, e) // a failed rule is logged by the bus, and retried by the tags
		}
	}
	l.mark(ctx, n.Seq)
}

// row holds the columns the rules need, whichever table a row is of.
type row struct {
	ID         int64      `json:"id"`
	CategoryID *int64     `json:"category_id"`
	UserID     *int64     `json:"user_id"`
	ProductID  *int64     `json:"product_id"`
	CreatedAt  *time.Time `json:"created_at"`
	DateJoined *time.Time `json:"date_joined"`
}

// Events returns the events of a change notification of table: what the
// shop would have published had it made the change itself.
func Events(table string, all bool, raw []json.RawMessage) ([]events.Event, error) {
	if all {
		return []events.Event{events.Everything{}}, nil
	}
	rows := make([]row, len(raw))
	for i, r := range raw {
		if err := json.Unmarshal(r, &rows[i]); err != nil {
			return nil, err
		}
	}
	var out []events.Event
	seen := map[string]bool{}
	once := func(key string, e events.Event) {
		if !seen[key] {
			seen[key] = true
			out = append(out, e)
		}
	}
	switch table {
	case "products":
		var p events.ProductsChanged
		ids, cats := map[int64]bool{}, map[int64]bool{}
		for _, r := range rows {
			if !ids[r.ID] {
				ids[r.ID] = true
				p.IDs = append(p.IDs, r.ID)
			}
			if r.CategoryID != nil && !cats[*r.CategoryID] {
				cats[*r.CategoryID] = true
				p.CategoryIDs = append(p.CategoryIDs, *r.CategoryID)
			}
		}
		out = append(out, p)
	case "categories":
		for _, r := range rows {
			once(fmt.Sprint(r.ID), events.CategoryChanged{ID: r.ID})
		}
	case "reviews":
		for _, r := range rows {
			if r.ProductID == nil || r.UserID == nil {
				return nil, errors.New("review without product_id or user_id")
			}
			once(fmt.Sprint(*r.ProductID, "/", *r.UserID), events.ReviewAdded{ProductID: *r.ProductID, UserID: *r.UserID})
		}
	case "orders":
		for _, r := range rows {
			if r.UserID == nil || r.CreatedAt == nil {
				return nil, errors.New("order without user_id or created_at")
			}
			once(fmt.Sprint(r.ID), events.OrderStatusChanged{OrderID: r.ID, UserID: *r.UserID, PlacedAt: *r.CreatedAt})
		}
	case "users":
		for _, r := range rows {
			at := time.Now()
			if r.DateJoined != nil {
				at = *r.DateJoined
			}
			once(fmt.Sprint(r.ID), events.UserChanged{UserID: r.ID, At: at})
		}
	case "cart_items":
		for _, r := range rows {
			if r.UserID == nil {
				return nil, errors.New("cart line without user_id")
			}
			once(fmt.Sprint(*r.UserID), events.CartChanged{UserID: *r.UserID})
		}
	case "wishlist_items":
		for _, r := range rows {
			if r.UserID == nil || r.ProductID == nil {
				return nil, errors.New("wishlist line without user_id or product_id")
			}
			once(fmt.Sprint(*r.UserID, "/", *r.ProductID), events.WishlistChanged{UserID: *r.UserID, ProductID: *r.ProductID})
		}
	default:
		return nil, fmt.Errorf("no rules for table %q", table)
	}
	return out, nil
}
