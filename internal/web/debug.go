package web

import (
	"bytes"
	"net/http"
	"time"

	"example.com/shop/internal/cache"
	"example.com/shop/internal/cache/backend"
	"example.com/shop/internal/cache/httpcache"
	"example.com/shop/internal/db"
	"example.com/shop/internal/viewer"
	"github.com/labstack/echo/v4"
)

// The debug panel: a collapsible table at the bottom of a page listing
// each cache operation and each SQL statement of the request that made it.
// ?debug=1 turns it on (and sets a cookie that keeps it on), ?debug=0 off.
// It is shown in development (SHOP_ENV=development) to everybody, and in
// production to admins only. It is added to the response after every cache
// layer has done its work, and the response then becomes private: no
// shared cache ever holds a page with a panel.

const debugCookie = "shop_debug"

// debugRequested reports whether the request asks for the panel. When the
// choice changes, remember sets the cookie that keeps it: call it once the
// page is done, so that the cache layers never see that cookie and the
// page can still be stored for everybody (without the panel).
// A response that sets the cookie is private, like any that sets a cookie.
func debugRequested(c echo.Context, allowed func() bool) (on bool, remember func()) {
	set := func(value string, maxAge int) func() {
		return func() {
			if !allowed() {
				// A visitor who may not see the panel gets no cookie: it
				// would only make their pages private.
				return
			}
			c.SetCookie(&http.Cookie{Name: debugCookie, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: maxAge})
			c.Response().Header().Set(echo.HeaderCacheControl, "private, no-store")
			c.Response().Header().Del("ETag")
		}
	}
	switch c.QueryParam("debug") {
	case "1":
		return true, set("1", 86400)
	case "0":
		return false, set("", -1)
	}
	ck, err := c.Cookie(debugCookie)
	return err == nil && ck.Value == "1", func() {}
}

// DebugPanel is the data of the panel.
type DebugPanel struct {
	Page                    string // X-Cache
	Hits, Misses, Sets      int
	Ops                     []cache.Op
	Statements              []db.Statement
	SQL                     int64
	Cache, DB, Render, Took time.Duration
	Layers                  []LayerState
	Holes                   []FilledHole // the page's personal parts, and what filled each
}

// LayerState says whether a layer is on.
type LayerState struct {
	Name cache.Layer
	On   bool
}

// debugAllowed reports whether the request may see the panel: in
// development everybody, in production admins. Known once the handlers ran.
func debugAllowed(c echo.Context, cfg Config) bool {
	return cfg.Dev || viewer.From(c.Request().Context()).Admin
}

func addDebugPanel(c echo.Context, cfg Config, tpl *Templates, caches *backend.Caches, rec *httpcache.Recorder, cs *cache.Stats, ds *db.Stats, times *timing, took time.Duration) {
	if !debugAllowed(c, cfg) {
		return
	}
	h := rec.Header()
	if !bytes.HasPrefix([]byte(h.Get(echo.HeaderContentType)), []byte("text/html")) {
		return
	}
	body := rec.Bytes()
	at := bytes.LastIndex(body, []byte("</body>"))
	if at < 0 {
		return
	}
	hits, misses, sets := cs.Totals()
	p := DebugPanel{
		Page: cs.PageHeader(), Hits: hits, Misses: misses, Sets: sets, Ops: cs.Ops(), Statements: ds.Statements(),
		SQL: ds.Queries(), Cache: cs.Took(), DB: ds.Duration(), Render: times.rendered(), Took: took,
		Holes: times.filledHoles(),
	}
	for _, l := range cache.Layers() {
		a := caches.Default
		if l == cache.LayerSession {
			a = caches.Sessions
		}
		p.Layers = append(p.Layers, LayerState{Name: l, On: a.Enabled(l)})
	}
	var panel bytes.Buffer
	if err := tpl.partials.ExecuteTemplate(&panel, "debug_panel", p); err != nil {
		return
	}
	out := make([]byte, 0, len(body)+panel.Len())
	out = append(append(append(out, body[:at]...), panel.Bytes()...), body[at:]...)
	status := rec.Status
	rec.Replay(status, out, nil)
	h.Set(echo.HeaderCacheControl, "private, no-store")
	h.Del("ETag")
	h.Del(echo.HeaderContentLength)
}
