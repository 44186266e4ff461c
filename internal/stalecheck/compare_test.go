package stalecheck

import (
	"strings"
	"testing"
	"time"
)

func TestSplitMarked(t *testing.T) {
	tests := []struct {
		name, body, want string
		parts            []string
		bound            time.Duration
		err              bool
	}{
		{name: "nothing marked", body: "<p>a</p>", want: "<p>a</p>"},
		{
			name: "a section with a nested section", bound: 600 * time.Second,
			body:  `<div><section data-staleness="600s"><section>x</section><p>as of</p></section><p>after</p></div>`,
			want:  `<div><!-- part marked stale up to 600s --><p>after</p></div>`,
			parts: []string{`<section data-staleness="600s"><section>x</section><p>as of</p></section>`},
		},
		{
			name: "two parts", bound: 5 * time.Second,
			body:  `<p data-staleness="5s">1</p>mid<p data-staleness="5s">2</p>`,
			want:  `<!-- part marked stale up to 5s -->mid<!-- part marked stale up to 5s -->`,
			parts: []string{`<p data-staleness="5s">1</p>`, `<p data-staleness="5s">2</p>`},
		},
		{name: "no end tag", body: `<section data-staleness="600s"><p>x</p>`, err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, parts, err := splitMarked([]byte(tt.body))
			if tt.err {
				if err == nil {
					t.Fatalf("no error for %q", tt.body)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("stripped:\n got %s\nwant %s", got, tt.want)
			}
			if len(parts) != len(tt.parts) {
				t.Fatalf("%d parts, want %d", len(parts), len(tt.parts))
			}
			for i, p := range parts {
				if string(p.html) != tt.parts[i] || p.bound != tt.bound {
					t.Errorf("part %d: %s (%s), want %s (%s)", i, p.html, p.bound, tt.parts[i], tt.bound)
				}
			}
		})
	}
}

func TestFirstDifference(t *testing.T) {
	a := []byte(strings.Repeat("x", 100) + `<a href="/categories/jackets">Jackets</a>` + strings.Repeat("y", 100))
	b := []byte(strings.Repeat("x", 100) + `<a href="/categories/jackets">Orchard Goods</a>` + strings.Repeat("y", 100))
	at, wa, wb, ok := firstDifference(a, b)
	if !ok || at != 130 {
		t.Fatalf("first difference at %d (%v), want 130", at, ok)
	}
	if !strings.Contains(wa, ">Jackets</a>") || !strings.Contains(wb, ">Orchard Goods</a>") || len([]rune(wa)) > 2*window+2 {
		t.Errorf("windows %q and %q", wa, wb)
	}
	if _, _, _, ok := firstDifference(a, a); ok {
		t.Error("equal bodies differ")
	}
	if at, wa, _, ok := firstDifference([]byte("abc"), []byte("abcd")); !ok || at != 3 || !strings.HasSuffix(wa, "⟨end⟩") {
		t.Errorf("a prefix: at %d %q %v", at, wa, ok)
	}
}

const markedCard = `<section data-staleness="600s"><p>as of <time datetime="2026-12-01T10:00:00.000Z">10:00 UTC</time>.</p>
<article class="card">
  <a href="/products/7" class="card-link">
    <div class="thumb" aria-hidden="true">G</div>
    <h3>Granite &amp; Ivory Jacket</h3>
  </a>
  <p class="price">12.50</p>
  <p class="meta"><span class="stars" title="4.0 out of 5">★★★★☆</span> 3 reviews · <span class="out">Out of stock</span></p>
</article></section>`

func TestCheckMarked(t *testing.T) {
	_, parts, err := splitMarked([]byte(markedCard))
	if err != nil || len(parts) != 1 {
		t.Fatalf("%d parts, %v", len(parts), err)
	}
	asOf := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	same := current{found: true, Name: "Granite & Ivory Jacket", Price: "12.50", Stock: 0, ReviewCount: 3, RatingTotal: 12}
	tests := []struct {
		name string
		at   time.Time
		now  current
		want []string // what the problems say, one each
	}{
		{name: "current, within the bound", at: asOf.Add(9 * time.Minute), now: same},
		{name: "older than the bound", at: asOf.Add(11 * time.Minute), now: same, want: []string{"over its declared bound of 10m0s"}},
		{name: "price moved", at: asOf, now: func() current { c := same; c.Price = "13.00"; return c }(), want: []string{"price 12.50, it is 13.00"}},
		{name: "back in stock, renamed", at: asOf, now: func() current { c := same; c.Stock, c.Name = 4, "New"; return c }(),
			want: []string{`name "Granite & Ivory Jacket", it is "New"`, "out of stock true, it is false"}},
		{name: "a new review", at: asOf, now: func() current { c := same; c.ReviewCount, c.RatingTotal = 4, 13; return c }(),
			want: []string{"review count 3, it is 4", "stars 4, it is 3"}},
		{name: "gone", at: asOf, now: current{}, want: []string{"no longer for sale"}},
	}
	empty := markedPart{bound: time.Minute, html: []byte(`<div data-staleness="60s">
</div>`)}
	if problems, err := checkMarked(empty, asOf, nil); err != nil || len(problems) > 0 {
		t.Errorf("an empty part: %q, %v", problems, err)
	}
	undated := markedPart{bound: time.Minute, html: []byte(strings.Replace(markedCard, "<time datetime", "<time data-x", 1))}
	if problems, _ := checkMarked(undated, asOf, func(int64) (current, error) { return same, nil }); len(problems) != 1 || !strings.Contains(problems[0], "does not say when") {
		t.Errorf("a part with cards and no time: %q", problems)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			problems, err := checkMarked(parts[0], tt.at, func(id int64) (current, error) {
				if id != 7 {
					t.Errorf("looked up product %d", id)
				}
				return tt.now, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(problems) != len(tt.want) {
				t.Fatalf("problems %q, want %d", problems, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.Contains(problems[i], w) {
					t.Errorf("problem %q, want one saying %q", problems[i], w)
				}
			}
		})
	}
}

func TestCompareResponses(t *testing.T) {
	page := func(body string) response {
		return response{status: 200, contentType: "text/html; charset=UTF-8", body: []byte(body)}
	}
	tests := []struct {
		name           string
		cached, fresh  response
		want           string
		marked         int
		cachedExcerpts string
	}{
		{name: "equal", cached: page("<p>a</p>"), fresh: page("<p>a</p>")},
		{name: "a marked part apart", cached: page(`<p>a</p><div data-staleness="600s">old</div>`), fresh: page(`<p>a</p><div data-staleness="600s">new</div>`), marked: 1},
		{name: "the body", cached: page("<p>old name</p>"), fresh: page("<p>new name</p>"), want: "body at byte 3", cachedExcerpts: "old name"},
		{name: "status", cached: page("x"), fresh: response{status: 404, body: []byte("x")}, want: "status"},
		{name: "content type", cached: page("x"), fresh: response{status: 200, contentType: "text/plain; charset=UTF-8", body: []byte("x")}, want: "content type"},
		{name: "a marked part more", cached: page(`<div data-staleness="600s">x</div>`), fresh: page(`<div data-staleness="600s">x</div><div data-staleness="600s">y</div>`), want: "body at byte"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			what, a, _, parts, err := compareResponses(tt.cached, tt.fresh)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(what, tt.want) || (tt.want == "") != (what == "") {
				t.Errorf("what differs: %q, want %q", what, tt.want)
			}
			if len(parts) != tt.marked {
				t.Errorf("%d marked parts, want %d", len(parts), tt.marked)
			}
			if !strings.Contains(a, tt.cachedExcerpts) {
				t.Errorf("cached excerpt %q, want it to show %q", a, tt.cachedExcerpts)
			}
		})
	}
}

func TestPageKind(t *testing.T) {
	for in, want := range map[string]string{
		"/products/42":                      "/products/{id}",
		"/products/42 (customer)":           "/products/{id} (customer)",
		"/categories/jackets?sort=price":    "/categories/{slug}?sort=price",
		"/api/products?category=jackets":    "/api/products?category=…",
		"/search?q=lantern&sort=price":      "/search?q=…&sort=price",
		"/orders/9 (customer)":              "/orders/{id} (customer)",
		"/":                                 "/",
		"/api/categories":                   "/api/categories",
		"/categories/jackets (customer)":    "/categories/{slug} (customer)",
		"/search?q=%C3%A9t%C3%A9&sort=name": "/search?q=…&sort=name",
	} {
		if got := PageKind(in); got != want {
			t.Errorf("PageKind(%q) = %q, want %q", in, got, want)
		}
	}
}
