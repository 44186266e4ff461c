package fragment_test

import (
	"context"
	"html/template"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"example.com/shop/internal/cache"
	"example.com/shop/internal/cache/backend"
	"example.com/shop/internal/cache/fragment"
)

// newAlias returns an alias on a memory store of its own.
func newAlias(t *testing.T, opts ...func(*cache.AliasOptions)) *cache.Alias {
	t.Helper()
	m := backend.NewMemory(32 << 20)
	o := cache.AliasOptions{Name: "default", Prefix: "test:default", TTL: time.Minute, Store: m, Tags: cache.NewTags(m, "test:")}
	for _, f := range opts {
		f(&o)
	}
	return cache.NewAlias(o)
}

type card struct {
	ID   int
	Name string
	Ver  int
}

func (c card) CacheKey() string {
	return "card-" + string(rune('0'+c.ID)) + "-" + string(rune('0'+c.Ver))
}

// parse makes a template set whose "card" template counts its renders.
func parse(t *testing.T, cardSource string, renders *atomic.Int64) *template.Template {
	t.Helper()
	tpl := template.Must(template.New("set").Funcs(template.FuncMap{
		"count": func() string { renders.Add(1); return "" },
	}).Parse(`{{define "card"}}{{count}}` + cardSource + `{{end}}` +
		`{{define "list"}}{{with .Data}}<ul>{{$.Frag.Each "card" .}}</ul>{{end}}{{end}}`))
	return tpl
}

func TestFragments(t *testing.T) {
	t.Parallel()
	a := newAlias(t)
	ctx := context.Background()
	var renders atomic.Int64
	tpl := parse(t, `{{with .Data}}<li>{{.Name}}</li>{{end}}`, &renders)
	frags := fragment.New(a, "build-1")
	frags.Prepare(tpl)
	f := frags.For(ctx, tpl)

	cards := []card{{1, "Lamp", 1}, {2, "Mug <b>", 1}}
	html, err := f.Each("card", cards)
	if err != nil {
		t.Fatal(err)
	}
	if string(html) != "<li>Lamp</li><li>Mug &lt;b&gt;</li>" {
		t.Fatalf("Each = %q", html)
	}
	if _, err := f.Each("card", cards); err != nil {
		t.Fatal(err)
	}
	if n := renders.Load(); n != 2 {
		t.Errorf("%d renders for two cards shown twice, want 2", n)
	}
	// A new version of one card renders that card only.
	cards[1].Ver = 2
	cards[1].Name = "Cup"
	html, _ = f.Each("card", cards)
	if n := renders.Load(); n != 3 || !strings.Contains(string(html), "Cup") {
		t.Errorf("after a change: %q, %d renders", html, n)
	}

	// Nested: the list fragment holds the card fragments.
	outer, err := f.Cache("list", cards)
	if err != nil || !strings.Contains(string(outer), "<ul><li>Lamp</li><li>Cup</li></ul>") {
		t.Fatalf("Cache(list) = %q, %v", outer, err)
	}

	// Data without CacheKey is keyed by its content.
	type plain struct{ Name string }
	before := renders.Load()
	for range 2 {
		if html, err := f.Cache("card", plain{"Kite"}); err != nil || string(html) != "<li>Kite</li>" {
			t.Fatalf("Cache(card) = %q, %v", html, err)
		}
	}
	if html, _ := f.Cache("card", plain{"Tent"}); string(html) != "<li>Tent</li>" {
		t.Errorf("other content got %q", html)
	}
	if n := renders.Load() - before; n != 2 {
		t.Errorf("%d renders for one content shown twice and another once, want 2", n)
	}
}

// TestFragmentDigest: a changed template is a new key, so the old HTML is
// never served for it.
func TestFragmentDigest(t *testing.T) {
	t.Parallel()
	a := newAlias(t)
	ctx := context.Background()
	var renders atomic.Int64
	old := parse(t, `{{with .Data}}<li>{{.Name}}</li>{{end}}`, &renders)
	newer := parse(t, `{{with .Data}}<li class="new">{{.Name}}</li>{{end}}`, &renders)
	c := []card{{1, "Lamp", 1}}

	f1 := fragment.New(a, "build-1")
	f1.Prepare(old)
	if _, err := f1.For(ctx, old).Each("card", c); err != nil {
		t.Fatal(err)
	}
	// A new process (a deploy) with the changed template, on the same cache.
	f2 := fragment.New(a, "build-1")
	f2.Prepare(newer)
	html, err := f2.For(ctx, newer).Each("card", c)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(html), `class="new"`) {
		t.Errorf("the changed template served the old HTML: %q", html)
	}
	// The outer template's digest covers the templates it calls.
	f3 := fragment.New(a, "build-1")
	f3.Prepare(newer)
	list, _ := f3.For(ctx, newer).Cache("list", c)
	if !strings.Contains(string(list), `class="new"`) {
		t.Errorf("the outer fragment kept the old inner HTML: %q", list)
	}
}

// TestFragmentBuild: the same template source with changed functions (a
// deploy that changed the code of a template function) never serves the
// old build's HTML.
func TestFragmentBuild(t *testing.T) {
	t.Parallel()
	a := newAlias(t)
	ctx := context.Background()
	source := `{{define "card"}}{{with .Data}}<li>{{stars .Ver}}</li>{{end}}{{end}}`
	stars := func(draw string) *template.Template {
		return template.Must(template.New("set").Funcs(template.FuncMap{
			"stars": func(n int) string { return strings.Repeat(draw, n) },
		}).Parse(source))
	}
	c := []card{{1, "Lamp", 3}}
	for _, build := range []struct{ name, draw, want string }{
		{"build-1", "*", "<li>***</li>"},
		{"build-2", "★", "<li>★★★</li>"}, // the same source, another stars
	} {
		tpl := stars(build.draw)
		f := fragment.New(a, build.name)
		f.Prepare(tpl)
		for range 2 {
			if html, err := f.For(ctx, tpl).Each("card", c); err != nil || string(html) != build.want {
				t.Errorf("%s: %q, %v; want %q", build.name, html, err, build.want)
			}
		}
	}
}

func TestFragmentsOff(t *testing.T) {
	t.Parallel()
	a := newAlias(t, func(o *cache.AliasOptions) { o.Disabled = []cache.Layer{cache.LayerFragment} })
	var renders atomic.Int64
	tpl := parse(t, `{{with .Data}}<li>{{.Name}}</li>{{end}}`, &renders)
	f := fragment.New(a, "build-1").For(context.Background(), tpl)
	for range 3 {
		if html, err := f.Each("card", []card{{1, "Lamp", 1}}); err != nil || string(html) != "<li>Lamp</li>" {
			t.Fatalf("%q, %v", html, err)
		}
	}
	if n := renders.Load(); n != 3 {
		t.Errorf("%d renders with the layer off, want 3", n)
	}
}
