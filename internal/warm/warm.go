// Package warm fills the caches before visitors do (the seed's warm
// command and CacheWarmer). It asks the shop itself for the pages people
// visit most, in process, as an anonymous visitor would, so that every
// layer those pages go through is filled at once: the page cache, the
// fragments, the queries and the aggregates, under exactly the keys real
// requests use.
//
// Products are warmed best sellers first (sales follow visits), so that a
// warm-up cut short has done the pages that matter.
package warm

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"

	"example.com/shop/internal/cache"
	"example.com/shop/internal/db"
	"github.com/schollz/progressbar/v3"
)

// Store is what the warmer reads to know what to warm.
type Store interface {
	ListCategoryNav(ctx context.Context) ([]db.ListCategoryNavRow, error)
	ListHotProductIDs(ctx context.Context, lim int32) ([]int64, error)
}

// Options say what to warm.
type Options struct {
	Home       bool // the home page and the category list
	Categories bool // the first page of every category
	Products   bool // product pages, best sellers first
	// MaxProducts bounds the product pages (0: all).
	MaxProducts int
	// Concurrency bounds the requests in flight (default 4).
	Concurrency int
	// Progress receives a progress bar, or nothing when nil.
	Progress io.Writer
	// OnProgress, when not nil, is told of every page done.
	OnProgress func(done, total int)
	Logger     *slog.Logger
}

// Summary is what a warm-up did.
type Summary struct {
	Pages  int           // pages requested
	Keys   int           // values stored in the cache
	Bytes  int           // their size
	Errors int           // pages that did not answer 200
	Took   time.Duration // in all
}

func (s Summary) String() string {
	return fmt.Sprintf("warmed %d pages: %d keys, %d KB stored, %d errors, in %s",
		s.Pages, s.Keys, s.Bytes/1024, s.Errors, s.Took.Round(time.Millisecond))
}

// Paths returns the pages to warm, in order.
func Paths(ctx context.Context, store Store, o Options) ([]string, error) {
	var paths []string
	if o.Home {
		paths = append(paths, "/", "/products", "/api/categories")
	}
	if o.Categories {
		cats, err := store.ListCategoryNav(ctx)
		if err != nil {
			return nil, fmt.Errorf("list categories: %w", err)
		}
		for _, c := range cats {
			paths = append(paths, "/categories/"+c.Slug)
		}
	}
	if o.Products {
		lim := int32(o.MaxProducts)
		if lim <= 0 {
			lim = 1 << 30
		}
		ids, err := store.ListHotProductIDs(ctx, lim)
		if err != nil {
			return nil, fmt.Errorf("list products: %w", err)
		}
		for _, id := range ids {
			paths = append(paths, fmt.Sprintf("/products/%d", id))
		}
	}
	return paths, nil
}

// Run requests every path of o from the shop's handler, with bounded
// concurrency. A page that fails is logged and counted, never fatal.
func Run(ctx context.Context, shop http.Handler, store Store, o Options) (Summary, error) {
	start := time.Now()
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	paths, err := Paths(ctx, store, o)
	if err != nil {
		return Summary{}, err
	}
	out := o.Progress
	if out == nil {
		out = io.Discard
	}
	bar := progressbar.NewOptions(len(paths), progressbar.OptionSetWriter(out), progressbar.OptionSetDescription("warming"),
		progressbar.OptionShowCount(), progressbar.OptionSetItsString("pages"), progressbar.OptionShowIts(),
		progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionOnCompletion(func() { fmt.Fprintln(out) }))

	var keys, bytes, errs, done atomic.Int64
	work := make(chan string)
	var wg sync.WaitGroup
	for range o.Concurrency {
		wg.Go(func() {
			for path := range work {
				k, b, err := warmOne(ctx, shop, path)
				keys.Add(int64(k))
				bytes.Add(int64(b))
				if err != nil {
					errs.Add(1)
					o.Logger.Warn("warm: page failed", "path", path, "err", err)
				}
				_ = bar.Add(1)
				if o.OnProgress != nil {
					o.OnProgress(int(done.Add(1)), len(paths))
				}
			}
		})
	}
feed:
	for _, p := range paths {
		select {
		case work <- p:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	_ = bar.Finish()
	s := Summary{Pages: len(paths), Keys: int(keys.Load()), Bytes: int(bytes.Load()), Errors: int(errs.Load()), Took: time.Since(start)}
	return s, ctx.Err()
}

// warmUpKey marks the context of a warm-up's requests.
type warmUpKey struct{}

// IsWarmUp reports whether a request is one of a warm-up's. The access log
// leaves them out: a warm-up asks for hundreds of pages at once, and its
// summary (Summary) says what they did.
func IsWarmUp(ctx context.Context) bool {
	v, _ := ctx.Value(warmUpKey{}).(bool)
	return v
}

// warmOne requests one page and returns what it stored in the cache.
func warmOne(ctx context.Context, shop http.Handler, path string) (keys, size int, err error) {
	ctx, scope := cache.WithScope(context.WithValue(ctx, warmUpKey{}, true))
	stats := scope.Stats()
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, path, nil)
	rec := httptest.NewRecorder()
	shop.ServeHTTP(rec, req)
	for _, op := range stats.Ops() {
		if op.Outcome == cache.Stored {
			keys++
			size += op.Bytes
		}
	}
	if rec.Code != http.StatusOK {
		return keys, size, fmt.Errorf("status %d", rec.Code)
	}
	return keys, size, nil
}
