package web_test

import (
	"fmt"
	"regexp"
	"testing"
	"time"

	"example.com/shop/internal/cache"
	"example.com/shop/internal/catalog"
	"example.com/shop/internal/stats"
)

// TestDeclaredStalenessIsHonest: every value whose staleness is declared
// rather than invalidated is served no older than its declared bound:
// the time it is made before it is stored (its load's limit), its TTL and
// its stale window add up to at most the bound the pages state.
func TestDeclaredStalenessIsHonest(t *testing.T) {
	declared := map[string]cache.Declared{}
	for name, d := range stats.Declarations() {
		declared["stats: "+name] = d
	}
	for name, d := range catalog.Declarations() {
		declared["catalog: "+name] = d
	}
	if len(declared) < 2 {
		t.Fatalf("the declarations are missing: %v", declared)
	}
	for name, d := range declared {
		t.Run(name, func(t *testing.T) {
			if d.Opts.TTL <= 0 || d.Load <= 0 || d.Bound <= 0 {
				t.Fatalf("TTL %s, load %s, bound %s: each must be set, or the bound answers for nothing", d.Opts.TTL, d.Load, d.Bound)
			}
			if got := d.MaxAge(); got > d.Bound {
				t.Errorf("served up to %s old (load %s + TTL %s + stale %s), declared at most %s",
					got, d.Load, d.Opts.TTL, d.Opts.Stale, d.Bound)
			}
		})
	}
}

// TestSearchSaysAsOf: the search results say when they were ranked and
// how old that may be, and are marked with the bound for the checkers.
func TestSearchSaysAsOf(t *testing.T) {
	t.Parallel()
	shop := newTestShop(t)
	createProduct(t, shop, "Quokka Teapot", "Stoneware.", "31.00")
	before := time.Now().Add(-time.Second)
	for _, outcome := range []string{"first", "cached"} {
		r := shop.client().get(searchFor("quokka"))
		if r.status != 200 {
			t.Fatalf("%s: %d", outcome, r.status)
		}
		marker := fmt.Sprintf(`data-staleness="%ds"`, int(catalog.SearchStaleness/time.Second))
		m := regexp.MustCompile(marker + `>\s*<p class="muted">Ranked as of <time datetime="([^"]+)">`).FindStringSubmatch(r.body)
		if m == nil {
			t.Fatalf("%s: the results do not say as of when, marked %s:\n%s", outcome, marker, r.body)
		}
		at, err := time.Parse(time.RFC3339Nano, m[1])
		if err != nil || at.Before(before) || at.After(time.Now()) {
			t.Errorf("%s: ranked as of %q (%v), want between %s and now", outcome, m[1], err, before)
		}
		if !regexp.MustCompile(`up to 5 minutes old`).MatchString(r.body) {
			t.Errorf("%s: the page does not state the bound", outcome)
		}
	}
}
