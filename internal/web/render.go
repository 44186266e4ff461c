package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"

	"example.com/shop/internal/cache/fragment"
	"example.com/shop/internal/cache/httpcache"
	"example.com/shop/internal/stats"
	"example.com/shop/internal/viewer"
	assets "example.com/shop/web"
	"github.com/labstack/echo/v4"
)

// pages lists every page template. Start-up fails when a page listed here
// has no file in web/templates/pages, or a file there is not listed, so a
// missing page is found before the first visitor does.
var pages = []string{
	"home", "products", "product", "search", "wishlist", "login", "register", "dashboard",
	"cart", "orders", "order", "admin_products", "admin_product_form",
	"admin_orders", "admin_stats", "admin_cache", "error",
}

// Layout is what every page template executes with: the page's own data
// (templates start with {{with .Page}}), who is looking, the fragment
// cache of this request ($.Frag) and its holes ($.Hole, holes.go). Viewer
// is per-user: it is used in the holes, never in a cached fragment, whose
// templates get a fragment.Data, nor elsewhere in a page.
type Layout struct {
	Page   any
	Viewer viewer.Viewer
	Path   string
	Frag   *fragment.Frag

	ctx       context.Context
	templates *Templates
}

// Templates renders the shop's pages. It implements echo.Renderer: handlers
// call c.Render(status, page, data) with one of the names in pages and the
// page's own typed data. It is safe for concurrent use.
type Templates struct {
	pages     map[string]*template.Template
	assets    map[string]string // "style.css" -> "/static/style.1a2b3c4d.css"
	static    map[string][]byte // fingerprinted file name -> content
	holeReads HoleReads
	fragments *fragment.Cache
	partials  *template.Template // the partials alone: the debug panel
}

// BuildVersion names what the shop's pages are made of: its templates and
// static files, and the code that renders them, as a digest of the running
// binary (which holds the template functions, such as stars and plural,
// and the methods of the pages' data); where the binary cannot be read,
// the commit it was built from, with a mark when the working tree had
// changes. Page-cache keys, fragment keys and the deploy fingerprint of
// the warm-up hold it, so a deploy that changes any of it never serves
// what the old build rendered. Go builds are reproducible: the instances
// of one deploy agree on it. It is worked out once.
func BuildVersion() string { return buildVersionOnce() }

var buildVersionOnce = sync.OnceValue(func() string {
	exe, _ := os.Executable()
	return buildVersion(assets.FS, exe)
})

// buildVersion is BuildVersion for the files and the binary at exe.
func buildVersion(files fs.FS, exe string) string {
	h := sha256.New()
	_ = fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(files, p)
		h.Write([]byte(p))
		h.Write(b)
		return err
	})
	if sum, err := fileDigest(exe); err == nil {
		h.Write([]byte("binary="))
		h.Write(sum)
	} else if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" || s.Key == "vcs.modified" {
				fmt.Fprintf(h, "%s=%s;", s.Key, s.Value)
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// fileDigest returns the SHA-256 of the file at path.
func fileDigest(path string) ([]byte, error) {
	if path == "" {
		return nil, errors.New("no path")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// NewTemplates parses every page once, with the layout and the partials,
// and fingerprints the static files. fragments caches the fragments the
// templates ask for; holeReads reads what the holes show of a visitor.
func NewTemplates(holeReads HoleReads, fragments *fragment.Cache) (*Templates, error) {
	t := &Templates{pages: map[string]*template.Template{}, assets: map[string]string{}, static: map[string][]byte{},
		holeReads: holeReads, fragments: fragments}
	if err := t.loadStatic(); err != nil {
		return nil, err
	}
	files, err := fs.Glob(assets.FS, "templates/pages/*.html")
	if err != nil {
		return nil, err
	}
	onDisk := map[string]bool{}
	for _, f := range files {
		onDisk[strings.TrimSuffix(path.Base(f), ".html")] = true
	}
	for _, name := range pages {
		if !onDisk[name] {
			return nil, fmt.Errorf("page %q has no template web/templates/pages/%s.html", name, name)
		}
		delete(onDisk, name)
		tpl, err := template.New("layout.html").Funcs(t.funcs()).ParseFS(assets.FS,
			"templates/layout.html", "templates/partials/*.html", "templates/pages/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("parse page %s: %w", name, err)
		}
		t.pages[name] = tpl
	}
	for extra := range onDisk {
		return nil, fmt.Errorf("template web/templates/pages/%s.html is not listed in pages", extra)
	}
	// The fragments are the partials: digest them before anything is
	// executed (see fragment.Cache.Prepare).
	partials, err := template.New("partials").Funcs(t.funcs()).ParseFS(assets.FS, "templates/partials/*.html")
	if err != nil {
		return nil, fmt.Errorf("parse partials: %w", err)
	}
	t.fragments.Prepare(partials)
	t.partials = partials
	return t, nil
}

// loadStatic reads web/static and names each file after a hash of its
// content, so that a changed file gets a new URL and every URL can be
// cached for a year.
func (t *Templates) loadStatic() error {
	return fs.WalkDir(assets.FS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(assets.FS, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		name := strings.TrimPrefix(p, "static/")
		ext := path.Ext(name)
		hashed := strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:])[:12] + ext
		t.assets[name] = "/static/" + hashed
		t.static[hashed] = b
		return nil
	})
}

func (t *Templates) funcs() template.FuncMap {
	return template.FuncMap{
		"asset": func(name string) (string, error) {
			u, ok := t.assets[name]
			if !ok {
				return "", fmt.Errorf("no static file %q", name)
			}
			return u, nil
		},
		"date":        func(t time.Time) string { return t.UTC().Format("2 Jan 2006") },
		"clock":       func(t time.Time) string { return t.UTC().Format("15:04 UTC") },
		"ms":          func(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d.Microseconds())/1000) },
		"kb":          func(n any) string { return fmt.Sprintf("%.1f", toFloat(n)/1024) },
		"redisFields": func() []string { return RedisFields() },
		"datetime":    func(t time.Time) string { return t.UTC().Format("2 Jan 2006 15:04 UTC") },
		// stars draws a rating, an int or an average, as five stars.
		"stars": func(rating any) (string, error) {
			var n int
			switch r := rating.(type) {
			case int:
				n = r
			case float64:
				n = int(math.Round(r))
			default:
				return "", fmt.Errorf("stars: rating of type %T", rating)
			}
			n = min(max(n, 0), 5)
			return strings.Repeat("★", n) + strings.Repeat("☆", 5-n), nil
		},
		"plural": func(n int, one, many string) string {
			if n == 1 {
				return one
			}
			return many
		},
		// iso is a time for <time datetime>, to the millisecond.
		"iso": func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") },
		// rankingStaleness is how old a best-seller ranking may be, for the
		// data-staleness attribute that marks it: the part of a page that
		// may lag the database by that much, and no other.
		"rankingStaleness": func() string { return fmt.Sprintf("%ds", int(stats.PopularStaleness/time.Second)) },
	}
}

// Render renders page name with data inside the layout. Echo renders into
// a buffer, so a template error becomes a clean 500, never half a page.
func (t *Templates) Render(w io.Writer, name string, data any, c echo.Context) error {
	tpl, ok := t.pages[name]
	if !ok {
		return fmt.Errorf("render: no page %q", name)
	}
	ctx := c.Request().Context()
	start := time.Now()
	defer func() { timingFrom(ctx).addRender(time.Since(start)) }()
	l := Layout{Page: data, Viewer: viewer.From(ctx), Path: c.Request().URL.Path, Frag: t.fragments.For(ctx, tpl), ctx: ctx, templates: t}
	var buf bytes.Buffer
	if err := tpl.Execute(&buf, l); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	page := buf.Bytes()
	if h := httpcache.HolesFrom(ctx); h != nil {
		var found []httpcache.Hole
		var err error
		if page, found, err = cutHoles(page); err != nil {
			return fmt.Errorf("render %s: %w", name, err)
		}
		h.Set(found)
	}
	_, err := w.Write(page)
	return err
}

// AssetNames returns the fingerprinted URLs of the static files, sorted.
func (t *Templates) AssetNames() []string {
	var out []string
	for _, u := range t.assets {
		out = append(out, u)
	}
	sort.Strings(out)
	return out
}

func toFloat(n any) float64 {
	switch v := n.(type) {
	case int:
		return float64(v)
	case int64:
		return float64(v)
	case uint64:
		return float64(v)
	}
	return 0
}
