package web

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"strconv"
	"time"

	"example.com/shop/internal/cache"
	"example.com/shop/internal/cache/httpcache"
	"example.com/shop/internal/viewer"
	"github.com/labstack/echo/v4"
)

// The holes of the shop's pages: the parts that depend on who is looking.
// A template declares one where it sits, {{$.Hole "wishlist" .ID}}, and
// web/templates/partials/holes.html renders it from a HoleData. A public
// page is cached with its holes rendered for an anonymous visitor; each
// visitor with a session gets the shared entry with the holes filled for
// them (httpcache, holes.go). What a hole reads of a visitor is below.

// HoleData is what a hole's template executes with.
type HoleData struct {
	Viewer viewer.Viewer
	Arg    int64 // the hole's argument: a product's id, or 0

	CartCount   int  // account
	InWishlist  bool // wishlist
	HasReviewed bool // review_form
}

// RatingChoices returns the ratings the review form offers, best first.
func (HoleData) RatingChoices() []int { return []int{5, 4, 3, 2, 1} }

// HoleReads are the reads of the visitor's own data that holes show, from
// the domains that own it. Each is cached per user or guest.
type HoleReads struct {
	CartCount   func(ctx context.Context, v viewer.Viewer) (int, error)
	InWishlist  func(ctx context.Context, userID, productID int64) (bool, error)
	HasReviewed func(ctx context.Context, userID, productID int64) (bool, error)
}

// holes are the shop's holes by name: what each reads of a visitor. An
// anonymous visitor's holes read nothing.
var holes = map[string]func(ctx context.Context, r HoleReads, d *HoleData) error{
	// The header's account area: the name, the admin link, the cart badge.
	"account": func(ctx context.Context, r HoleReads, d *HoleData) (err error) {
		if d.Viewer.Personal() && r.CartCount != nil {
			d.CartCount, err = r.CartCount(ctx, d.Viewer)
		}
		return err
	},
	// A product's wishlist button.
	"wishlist": func(ctx context.Context, r HoleReads, d *HoleData) (err error) {
		if d.Viewer.LoggedIn() && r.InWishlist != nil {
			d.InWishlist, err = r.InWishlist(ctx, d.Viewer.UserID, d.Arg)
		}
		return err
	},
	// A product's review form, for a customer who has not reviewed it.
	"review_form": func(ctx context.Context, r HoleReads, d *HoleData) (err error) {
		if d.Viewer.LoggedIn() && r.HasReviewed != nil {
			d.HasReviewed, err = r.HasReviewed(ctx, d.Viewer.UserID, d.Arg)
		}
		return err
	},
}

// renderHole renders hole name with arg for v.
func (t *Templates) renderHole(ctx context.Context, v viewer.Viewer, name string, arg int64) ([]byte, error) {
	read, ok := holes[name]
	if !ok {
		return nil, fmt.Errorf("no hole %q", name)
	}
	d := HoleData{Viewer: v, Arg: arg}
	start, stats := time.Now(), cache.StatsFrom(ctx)
	before := len(stats.Ops())
	if err := read(ctx, t.holeReads, &d); err != nil {
		return nil, fmt.Errorf("hole %s: %w", name, err)
	}
	filled := FilledHole{Name: name, Arg: arg, For: visitorKind(v), Took: time.Since(start)}
	if ops := stats.Ops(); len(ops) > before {
		for _, op := range ops[before:] {
			filled.Reads = append(filled.Reads, op.Key+" "+string(op.Outcome))
		}
	}
	timingFrom(ctx).addHole(filled)
	var b bytes.Buffer
	if err := t.partials.ExecuteTemplate(&b, "hole:"+name, d); err != nil {
		return nil, fmt.Errorf("hole %s: %w", name, err)
	}
	return b.Bytes(), nil
}

// visitorKind names who a hole was filled for, for the debug panel.
func visitorKind(v viewer.Viewer) string {
	switch {
	case v.LoggedIn():
		return "customer"
	case v.Guest():
		return "guest"
	}
	return "anonymous"
}

// Hole renders a hole of the page ({{$.Hole "wishlist" .ID}}): for the
// request's visitor, or, when the page cache renders the shared entry, for
// an anonymous visitor and marked, so that Render records where it is.
func (l Layout) Hole(name string, arg int64) (template.HTML, error) {
	b, err := l.templates.renderHole(l.ctx, l.Viewer, name, arg)
	if err != nil {
		return "", err
	}
	if httpcache.HolesFrom(l.ctx) == nil {
		return template.HTML(b), nil
	}
	// NUL never reaches the page otherwise: html/template escapes it.
	return template.HTML("\x00H" + name + "\x00" + strconv.FormatInt(arg, 10) + "\x00" + string(b) + "\x00E"), nil
}

// cutHoles removes the marks of Hole from a rendered page and returns the
// page and where its holes are.
func cutHoles(page []byte) ([]byte, []httpcache.Hole, error) {
	var out []byte
	var found []httpcache.Hole
	for {
		i := bytes.Index(page, []byte("\x00H"))
		if i < 0 {
			return append(out, page...), found, nil
		}
		out = append(out, page[:i]...)
		rest := page[i+2:]
		name, rest, ok1 := bytes.Cut(rest, []byte{0})
		argText, rest, ok2 := bytes.Cut(rest, []byte{0})
		content, rest, ok3 := bytes.Cut(rest, []byte("\x00E"))
		arg, err := strconv.ParseInt(string(argText), 10, 64)
		if !ok1 || !ok2 || !ok3 || err != nil {
			return nil, nil, fmt.Errorf("a hole's mark is broken at byte %d", i)
		}
		found = append(found, httpcache.Hole{Name: string(name), Arg: arg, Start: len(out), End: len(out) + len(content)})
		out = append(out, content...)
		page = rest
	}
}

// FillHoles is the page cache's Fill: the shared page with each hole
// rendered for the request's visitor.
func (t *Templates) FillHoles(c echo.Context, body []byte, hs []httpcache.Hole) ([]byte, error) {
	ctx := c.Request().Context()
	v := viewer.From(ctx)
	out := make([]byte, 0, len(body)+256)
	at := 0
	for _, h := range hs {
		b, err := t.renderHole(ctx, v, h.Name, h.Arg)
		if err != nil {
			return nil, err
		}
		out = append(append(out, body[at:h.Start]...), b...)
		at = h.End
	}
	return append(out, body[at:]...), nil
}
