// Package fragment caches pieces of rendered HTML (the seed's {% cache %}
// and cache_include, and Rails' Russian-doll and collection caching), for
// html/template, in an alias of the core cache (internal/cache).
package fragment

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"reflect"
	"sort"
	"strings"
	"sync"
	"text/template/parse"

	"example.com/shop/internal/cache"
)

// Cache caches the fragments of a set of templates. A fragment is a named
// template; its key is made of:
//
//   - its name;
//   - the build (see New), so that changed template functions or
//     data methods never serve the old build's HTML;
//   - a digest of its source and of every template it calls, so a changed
//     template never serves old HTML;
//   - the version of its data: a digest of the data itself (its exported
//     fields, as the msgpack codec encodes them), or its CacheKey() when
//     it has one.
//
// So a fragment's HTML is a function of its key: it cannot be stale, and
// needs no invalidation. A CacheKey must change whenever anything the
// fragment shows does, which a timestamp does not promise (two writes in
// one microsecond, or a joined row that changed): the catalog's data has
// none and is keyed by its content. Its data has no way to reach the viewer (the
// template gets a Data, which has none of the page's per-user
// fields), so nothing per-user can end up in a shared fragment.
type Cache struct {
	alias   *cache.Alias
	build   string
	digests sync.Map // template name -> digest
}

// New returns fragment caching in alias for the templates of one
// build. build names what a template's source does not show: the code of
// its functions (stars, plural), of the methods its data has, and the
// static files (the shop gives web.BuildVersion). A deploy that changes
// any of them is a new build, whose fragments share no key with the old
// one's.
func New(a *cache.Alias, build string) *Cache { return &Cache{alias: a, build: build} }

// Prepare computes the digest of every template of tpl. Call it before tpl
// is first executed: html/template rewrites its trees when it escapes
// them, and every process must compute the same digests.
func (f *Cache) Prepare(tpl *template.Template) {
	for _, t := range tpl.Templates() {
		f.digest(tpl, t.Name())
	}
}

// Keyer is implemented by data that knows its own cache version: one
// that changes whenever anything a fragment can show of the data does.
// Without it, the data's content is its version, which is always right.
type Keyer interface {
	CacheKey() string
}

// Data is what a fragment template executes with: its Data, and
// Frag to cache the fragments nested in it.
type Data struct {
	Data any
	Frag *Frag
}

// Frag is the fragment cache of one request and one template set. The
// templates call it: {{$.Frag.Cache "product_info" .}} and
// {{$.Frag.Each "product_card" .Products}}.
type Frag struct {
	ctx context.Context
	f   *Cache
	tpl *template.Template
}

// For returns the fragment cache of a request rendering with tpl.
func (f *Cache) For(ctx context.Context, tpl *template.Template) *Frag {
	return &Frag{ctx: ctx, f: f, tpl: tpl}
}

// on returns fr for a load's context: the fragments nested in one being
// rendered by a background refresh or a consistency check are read on
// that context, not on the request's.
func (fr *Frag) on(ctx context.Context) *Frag { return &Frag{ctx: ctx, f: fr.f, tpl: fr.tpl} }

func (fr *Frag) render(name string, data any) (string, error) {
	var b bytes.Buffer
	if err := fr.tpl.ExecuteTemplate(&b, name, Data{Data: data, Frag: fr}); err != nil {
		return "", err
	}
	return b.String(), nil
}

func (fr *Frag) key(name string, data any) (string, error) {
	v, err := version(data)
	if err != nil {
		return "", err
	}
	return cache.Key("frag", name, fr.f.build, fr.f.digest(fr.tpl, name), v), nil
}

// Cache returns the HTML of template name executed with data, from the
// cache when it has it. The HTML was escaped by html/template for the
// position of an element's content, which is where it may be used.
func (fr *Frag) Cache(name string, data any) (template.HTML, error) {
	a := fr.f.alias
	if !a.Enabled(cache.LayerFragment) {
		s, err := fr.render(name, data)
		return template.HTML(s), err
	}
	key, err := fr.key(name, data)
	if err != nil {
		return "", err
	}
	s, err := cache.Remember(fr.ctx, a, key, cache.Opts{Layer: cache.LayerFragment, Codec: cache.Msgpack()},
		func(ctx context.Context) (string, error) { return fr.on(ctx).render(name, data) })
	return template.HTML(s), err
}

// Each renders template name once per element of items (a slice), reading
// every element's fragment from the cache in one round trip and rendering
// only the missing ones (Rails' collection caching).
func (fr *Frag) Each(name string, items any) (template.HTML, error) {
	rv := reflect.ValueOf(items)
	if rv.Kind() != reflect.Slice {
		return "", fmt.Errorf("fragment %s: Each needs a slice, got %T", name, items)
	}
	n := rv.Len()
	a := fr.f.alias
	var out strings.Builder
	if !a.Enabled(cache.LayerFragment) {
		for i := range n {
			s, err := fr.render(name, rv.Index(i).Interface())
			if err != nil {
				return "", err
			}
			out.WriteString(s)
		}
		return template.HTML(out.String()), nil
	}
	keys := make([]string, n)
	for i := range n {
		k, err := fr.key(name, rv.Index(i).Interface())
		if err != nil {
			return "", err
		}
		keys[i] = k
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	html, err := cache.RememberMany(fr.ctx, a, idx, cache.ManyOpts[int]{Opts: cache.Opts{Layer: cache.LayerFragment, Codec: cache.Msgpack()}, Key: func(i int) string { return keys[i] }},
		func(ctx context.Context, missing []int) (map[int]string, error) {
			got := make(map[int]string, len(missing))
			for _, i := range missing {
				s, err := fr.on(ctx).render(name, rv.Index(i).Interface())
				if err != nil {
					return nil, err
				}
				got[i] = s
			}
			return got, nil
		})
	if err != nil {
		return "", err
	}
	for i := range n {
		out.WriteString(html[i])
	}
	return template.HTML(out.String()), nil
}

// version returns the version part of a fragment's key.
func version(data any) (string, error) {
	if k, ok := data.(Keyer); ok {
		return k.CacheKey(), nil
	}
	b, err := cache.Msgpack().Marshal(data)
	if err != nil {
		return "", fmt.Errorf("fragment data: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12]), nil
}

// digest returns the digest of a template's source and of every template
// it calls, with {{template}} or through Frag.Cache and Frag.Each: Rails'
// template digests. Templates do not change while the process runs, so it
// is computed once per name.
func (f *Cache) digest(tpl *template.Template, name string) string {
	if d, ok := f.digests.Load(name); ok {
		return d.(string)
	}
	seen := map[string]bool{}
	var sources []string
	var walk func(name string)
	walk = func(name string) {
		if seen[name] {
			return
		}
		seen[name] = true
		t := tpl.Lookup(name)
		if t == nil || t.Tree == nil {
			sources = append(sources, "missing:"+name)
			return
		}
		sources = append(sources, name+"\x00"+t.Tree.Root.String())
		for _, callee := range callees(t.Tree.Root) {
			walk(callee)
		}
	}
	walk(name)
	sort.Strings(sources)
	h := sha256.New()
	for _, s := range sources {
		h.Write([]byte(s))
	}
	d := hex.EncodeToString(h.Sum(nil))[:12]
	f.digests.Store(name, d)
	return d
}

// callees lists the templates a parse tree calls: {{template "x"}} and the
// first string argument of .Frag.Cache and .Frag.Each.
func callees(n parse.Node) []string {
	var out []string
	var visit func(parse.Node)
	visit = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				visit(c)
			}
		case *parse.TemplateNode:
			out = append(out, n.Name)
			if n.Pipe != nil {
				visit(n.Pipe)
			}
		case *parse.ActionNode:
			visit(n.Pipe)
		case *parse.PipeNode:
			if n == nil {
				return
			}
			for _, c := range n.Cmds {
				visit(c)
			}
		case *parse.CommandNode:
			if len(n.Args) >= 2 {
				if f, ok := n.Args[0].(*parse.FieldNode); ok && len(f.Ident) >= 2 {
					last := f.Ident[len(f.Ident)-1]
					if f.Ident[len(f.Ident)-2] == "Frag" && (last == "Cache" || last == "Each") {
						if s, ok := n.Args[1].(*parse.StringNode); ok {
							out = append(out, s.Text)
						}
					}
				}
				if v, ok := n.Args[0].(*parse.VariableNode); ok && len(v.Ident) >= 3 {
					last := v.Ident[len(v.Ident)-1]
					if v.Ident[len(v.Ident)-2] == "Frag" && (last == "Cache" || last == "Each") {
						if s, ok := n.Args[1].(*parse.StringNode); ok {
							out = append(out, s.Text)
						}
					}
				}
			}
			for _, a := range n.Args {
				visit(a)
			}
		case *parse.IfNode:
			visit(n.Pipe)
			visit(n.List)
			visit(n.ElseList)
		case *parse.RangeNode:
			visit(n.Pipe)
			visit(n.List)
			visit(n.ElseList)
		case *parse.WithNode:
			visit(n.Pipe)
			visit(n.List)
			visit(n.ElseList)
		}
	}
	visit(n)
	return out
}
