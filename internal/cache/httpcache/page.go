package httpcache

import (
	"encoding/binary"
	"net/http"
	"sort"
	"strings"
	"time"

	"example.com/shop/internal/cache"
	"github.com/labstack/echo/v4"
)

// PageOptions configure the page cache of a route.
type PageOptions struct {
	// Params are the query parameters the route reads. Only they enter the
	// key: an unknown parameter (utm_source, a cache buster) neither makes
	// a new entry nor changes what a later request gets.
	Params []string
	// Headers are the request headers the response varies on.
	Headers []string
	// TTL bounds how long an entry is kept (default: the alias's). Its
	// freshness does not depend on it: entries are invalidated by tags.
	TTL time.Duration
	// StaleIfError lets an entry be served this long past its TTL when the
	// handler fails (the database is down). Invalidated entries never are.
	StaleIfError time.Duration
	// Personal tells requests that must never read or write a shared
	// entry: a logged-in visitor's. Required for a shared page cache.
	Personal func(echo.Context) bool
	// PerUser makes a per-user page cache (the seed's cache_per_user): the
	// key holds the user's id, the entry depends on the user's tags, and
	// nobody else ever reads it. ok is false for a request without a user,
	// which then bypasses the cache.
	PerUser func(echo.Context) (userID int64, tags []string, ok bool)
	// Reload, when set, runs on a miss before the handler, inside the
	// page's tracking of what it reads: what a middleware read for the
	// page before the page cache ran (the viewer of a per-user page) is
	// read again there, so that the page records the generations of the
	// values it shows, not newer ones.
	Reload func(echo.Context) error
	// Host returns the host to key on; "" leaves the host out (the shop
	// serves the same pages on every name it answers to).
	Host func(*http.Request) string
	// Normalize maps a declared parameter's value to the form it is keyed
	// by (a search query lower-cased, its words in order), so that requests
	// that mean the same share one entry. The handler must render what the
	// normalized value means, since every variant is served the same page.
	Normalize map[string]func(string) string
	// Admit, when set, stores a page only once it admits the key: for
	// routes whose parameters are free text (see cache.Admission).
	Admit *cache.Admission
	// Fill, with Anonymous, serves visitors for whom Personal is true from
	// the shared entry too, with its holes filled for them (holes.go): it
	// returns body with each hole's anonymous content replaced by the
	// visitor's. Without it they bypass the page cache.
	Fill func(c echo.Context, body []byte, holes []Hole) ([]byte, error)
	// Anonymous returns the request as an anonymous visitor's: the shared
	// entry is always rendered so, whoever asked.
	Anonymous func(*http.Request) *http.Request
	// Version names what the pages are made of (templates, code): it is
	// part of every key, so that after a deploy that changes how a page
	// looks, no instance replays one the old build rendered, even from a
	// store shared across the deploy.
	Version string
}

// MaxPageBytes is the largest response the page cache stores.
const MaxPageBytes = 1 << 20

// page is what the page cache stores of a response.
type page struct {
	Status      int
	ContentType string
	ETag        string
	Body        []byte
	Gzip        []byte // Body gzip-encoded; nil when not worth it (see compressible)
	Holes       []Hole // the personal parts, filled per visitor (holes.go)
}

// Page caches whole responses of a route (the seed's cache_page): GET
// requests of anonymous visitors that answered 200 without setting a
// cookie, replayed with this request's figures and X-Cache: HIT. An entry
// depends on every tag the handler's cached reads depended on (see cache.Track),
// so a write that invalidates any of them makes the page a miss at once.
// X-Cache says HIT, MISS, STALE or BYPASS.
func Page(a *cache.Alias, o PageOptions) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			ctx := req.Context()
			stats := cache.StatsFrom(ctx)
			if !a.Enabled(cache.LayerPage) || req.Method != http.MethodGet {
				return next(c)
			}
			var key string
			var userTags []string
			personal := false // served the shared entry with its holes filled
			switch {
			case o.PerUser != nil:
				uid, tags, ok := o.PerUser(c)
				if !ok {
					return next(c)
				}
				key, userTags = cache.UserKey(uid, append([]any{"page"}, pageKey(c, o)...)...), tags
			case o.Personal == nil:
				return next(c) // a shared page cache must be told who is personal
			case o.Personal(c):
				if o.Fill == nil || o.Anonymous == nil {
					return next(c)
				}
				personal = true
				key = cache.Key(append([]any{"page"}, pageKey(c, o)...)...)
			default:
				key = cache.Key(append([]any{"page"}, pageKey(c, o)...)...)
			}
			start := time.Now()

			p, state, err := lookup(c, a, key)
			lookupTook := time.Since(start)
			if err != nil {
				return next(c) // the store failed, now or earlier in the request
			}
			hit := func(p page, how cache.Outcome) {
				a.Record(ctx, cache.Op{At: start, Layer: cache.LayerPage, Key: key, Outcome: how, Bytes: len(p.Body), Took: lookupTook})
				stats.SetPage(how)
			}
			// serve writes a stored page as this request's response: as it
			// is, or with its holes filled for this visitor. A hole that
			// cannot be filled leaves nothing written: the caller renders
			// the page for the visitor instead, or fails.
			serve := func(p page) (filled bool, err error) {
				if !personal {
					return true, replay(c, p)
				}
				body, err := o.Fill(c, p.Body, p.Holes)
				if err != nil {
					return false, err
				}
				return true, replay(c, page{Status: p.Status, ContentType: p.ContentType, Body: body})
			}
			if state == cache.Fresh {
				hit(p, cache.Hit)
				if ok, err := serve(p); ok {
					return err
				}
				return next(c) // rendered for this visitor, holes and all
			}

			// A miss: render, or wait if another request of this process
			// renders the same page and then look again (Alias.Coalesce).
			// As long as it renders: unlike a lock across processes, a
			// render in this one cannot outlive its request, and a waiter
			// that gave up would only render the same page again beside
			// it, slower on a busy machine. Its own request's deadline
			// still bounds the wait.
			render := func() error {
				rec, flush := Capture(c)
				tctx, deps := cache.Track(ctx)
				a.Observe(tctx, userTags...)
				var holes *Holes
				if o.Fill != nil && o.PerUser == nil {
					tctx, holes = withHoles(tctx)
				}
				shared := req.WithContext(tctx)
				if personal {
					shared = o.Anonymous(shared) // never a filled hole in a shared entry
				}
				c.SetRequest(shared)
				rendering := time.Now()
				var herr error
				if o.Reload != nil {
					herr = o.Reload(c)
				}
				if herr == nil {
					herr = next(c)
				}
				c.SetRequest(req)
				if herr == nil {
					// Rendering is the page layer's load: what a hit saves.
					a.Loaded(cache.LayerPage, time.Since(rendering))
				}

				if herr != nil && state == cache.Expired {
					// The handler failed and an entry, past its TTL but never
					// invalidated, is allowed to stand in.
					rec.Reset(p.Status)
					hit(p, cache.Stale)
					if ok, err := serve(p); !ok {
						// The holes need what failed: the error page
						// is the answer.
						rec.Discard()
						c.Response().Committed, c.Response().Size = false, 0
						if ferr := flush(); ferr != nil {
							return ferr
						}
						return herr
					} else if err != nil {
						return err
					}
					return flush()
				}
				stats.SetPage(cache.Miss)
				a.Record(ctx, cache.Op{At: start, Layer: cache.LayerPage, Key: key, Outcome: cache.Miss, Took: lookupTook})
				var np page
				if herr == nil {
					np = page{Status: rec.Status, ContentType: rec.Header().Get(echo.HeaderContentType), Body: append([]byte(nil), rec.Bytes()...)}
					np.Holes = holes.Found()
				}
				// Holes that do not fit the body (a renderer's bug) would
				// serve every visitor with a session the anonymous parts:
				// such a page is not stored.
				if herr == nil && cacheable(rec) && !deps.Broken() && validHoles(np.Holes, len(np.Body)) {
					np.ETag = ETag(np.Body)
					if !personal {
						rec.Header().Set("ETag", np.ETag)
					}
					if compressible(rec.Header(), len(np.Body)) {
						np.Gzip = rec.Gzip() // compressed once, for every hit and this response
					}
					ttl := o.TTL
					if ttl <= 0 {
						ttl = a.TTL()
					}
					// No longer than the values the page shows may be served.
					if until := deps.Until(); !until.IsZero() {
						ttl = min(ttl, time.Until(until))
					}
					if ttl > 0 && o.Admit.Admit(key) {
						a.WriteBytes(ctx, cache.LayerPage, key, encodePage(np), deps.Gens(), ttl, o.StaleIfError)
					}
				}
				if herr == nil && personal {
					// This visitor gets the shared render with the holes
					// filled for them; when a hole cannot be filled, the
					// page rendered for them (or its error page).
					body, err := o.Fill(c, np.Body, np.Holes)
					rec.Discard()
					c.Response().Committed, c.Response().Size = false, 0
					if err != nil {
						herr = next(c)
					} else {
						c.Response().WriteHeader(np.Status)
						_, err = c.Response().Write(body)
						herr = err
					}
				}
				if ferr := flush(); ferr != nil {
					return ferr
				}
				return herr
			}
			waited, err := a.Coalesce(ctx, key, render)
			if !waited {
				return err
			}
			if p2, s2, err := lookup(c, a, key); err == nil && s2 == cache.Fresh {
				hit(p2, cache.Hit)
				a.Coalesced(cache.LayerPage, "render")
				if ok, err := serve(p2); ok {
					return err
				}
				return next(c)
			}
			return render()
		}
	}
}

// lookup reads the page stored under key, with what the alias found: a
// page that does not decode is not there.
func lookup(c echo.Context, a *cache.Alias, key string) (page, cache.EntryState, error) {
	b, state, err := a.ReadBytes(c.Request().Context(), cache.LayerPage, key)
	if err != nil || state == cache.Absent {
		return page{}, cache.Absent, err
	}
	p, err := decodePage(b)
	if err != nil {
		return page{}, cache.Absent, nil
	}
	return p, state, nil
}

// A page's layout: status (2 bytes), content type and ETag (each a length
// byte and the text), its holes (encodeHoles), the gzip encoding (its length in 4 bytes, then the
// bytes), then the body to the end.
func encodePage(p page) []byte {
	ct, etag := p.ContentType[:min(len(p.ContentType), 255)], p.ETag[:min(len(p.ETag), 255)]
	b := make([]byte, 0, 8+len(ct)+len(etag)+len(p.Gzip)+len(p.Body))
	b = binary.BigEndian.AppendUint16(b, uint16(p.Status))
	b = append(append(b, byte(len(ct))), ct...)
	b = append(append(b, byte(len(etag))), etag...)
	b = encodeHoles(b, p.Holes)
	b = binary.BigEndian.AppendUint32(b, uint32(len(p.Gzip)))
	b = append(b, p.Gzip...)
	return append(b, p.Body...)
}

// decodePage reads a page; its bodies share b's memory.
func decodePage(b []byte) (page, error) {
	if len(b) < 3 {
		return page{}, cache.ErrCorrupt
	}
	p := page{Status: int(binary.BigEndian.Uint16(b))}
	rest := b[2:]
	field := func() (string, bool) {
		if len(rest) < 1 || len(rest) < 1+int(rest[0]) {
			return "", false
		}
		v := string(rest[1 : 1+int(rest[0])])
		rest = rest[1+int(rest[0]):]
		return v, true
	}
	var ok1, ok2 bool
	p.ContentType, ok1 = field()
	p.ETag, ok2 = field()
	if !ok1 || !ok2 {
		return page{}, cache.ErrCorrupt
	}
	var err error
	if p.Holes, rest, err = decodeHoles(rest); err != nil {
		return page{}, err
	}
	if len(rest) < 4 || uint64(len(rest)-4) < uint64(binary.BigEndian.Uint32(rest)) {
		return page{}, cache.ErrCorrupt
	}
	n := int(binary.BigEndian.Uint32(rest))
	if n > 0 {
		p.Gzip = rest[4 : 4+n : 4+n]
	}
	p.Body = rest[4+n:]
	if !validHoles(p.Holes, len(p.Body)) {
		return page{}, cache.ErrCorrupt
	}
	return p, nil
}

// cacheable reports whether a response may be stored for others: a 200
// without a cookie, that its handler did not mark private, of a type the
// shop serves, not too big.
func cacheable(rec *Recorder) bool {
	h := rec.Header()
	cc := h.Get(echo.HeaderCacheControl)
	ct := h.Get(echo.HeaderContentType)
	return rec.Status == http.StatusOK && len(h.Values("Set-Cookie")) == 0 &&
		!strings.Contains(cc, "private") && !strings.Contains(cc, "no-store") &&
		(strings.HasPrefix(ct, "text/html") || strings.HasPrefix(ct, "application/json")) &&
		rec.Len() <= MaxPageBytes
}

// replay writes a stored page as this request's response. Behind the HTTP
// layer's Recorder the body is handed over as it is, shared with the store:
// nothing writes to it.
func replay(c echo.Context, p page) error {
	res := c.Response()
	res.Header().Set("ETag", p.ETag)
	rec, ok := recorderOf(res.Writer)
	if !ok {
		return c.Blob(p.Status, p.ContentType, p.Body)
	}
	res.Header().Set(echo.HeaderContentType, p.ContentType)
	res.WriteHeader(p.Status)
	rec.Replay(p.Status, p.Body, p.Gzip)
	res.Size = int64(len(p.Body))
	return nil
}

// pageKey is the part of a page's key that comes from the request: method,
// host (when the route keys on it), the route's pattern and path values,
// the declared query parameters (sorted, first value each, others left
// out) and the declared headers.
func pageKey(c echo.Context, o PageOptions) []any {
	req := c.Request()
	parts := []any{req.Method}
	if o.Version != "" {
		parts = append(parts, o.Version)
	}
	if o.Host != nil {
		parts = append(parts, o.Host(req))
	}
	parts = append(parts, c.Path())
	names, values := c.ParamNames(), c.ParamValues()
	for i := range names {
		if i < len(values) {
			parts = append(parts, cache.Named{names[i]: values[i]})
		}
	}
	q := req.URL.Query()
	declared := cache.Named{}
	for _, name := range o.Params {
		v := q.Get(name)
		if f := o.Normalize[name]; f != nil {
			v = f(v)
		}
		if v != "" {
			declared[name] = v
		}
	}
	parts = append(parts, declared)
	hs := append([]string(nil), o.Headers...)
	sort.Strings(hs)
	for _, name := range hs {
		parts = append(parts, cache.Named{strings.ToLower(name): req.Header.Get(name)})
	}
	return parts
}
