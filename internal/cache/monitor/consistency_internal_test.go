package monitor

import (
	"testing"

	"example.com/shop/internal/cache"
)

// TestConsistencyFamilies: a key's family is the parts the shop's code
// writes, never an id, a slug or what a visitor typed.
func TestConsistencyFamilies(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ key, want string }{
		{cache.EntityKey("product", 42), "product"},
		{cache.EntityKey("product", 42, "reviews", cache.Named{"lim": 10, "off": 0}), "product:reviews"},
		{cache.EntityKey("product", 42, "row"), "product:row"},
		{cache.UserKey(5, "orders", cache.Named{"lim": 10}), "user:orders"},
		{cache.UserKey(5, "cart", "count"), "user:cart"},
		{cache.UserKey(5, "page", "GET", "/dashboard"), "user:page"},
		{cache.Key("search", cache.Named{"w": "lamp & desk", "p": "des"}), "search"},
		{cache.Key("category", "garden-tools"), "category"},
		{"categories:nav", "categories"},
		{cache.Key("stats", "day", "2026-01-02"), "stats"},
		{cache.Key("stats", "popular", 7), "stats"},
		{cache.Key("frag", "product_card", "build", "3f2a", "9c"), "frag:product_card"},
		{cache.Key("frag", "%3Cscript%3E", "b"), "frag"},
		{cache.Key("featured", 8), "featured"},
		{cache.Key("list", string(make([]byte, 300))), "list"},
		{cache.Key("%41dmin"), "other"},
		{"", "other"},
		{"42:x", "other"},
	} {
		if got := keyFamily(tc.key); got != tc.want {
			t.Errorf("keyFamily(%q) = %q, want %q", tc.key, got, tc.want)
		}
	}
}

// TestConsistencyFamiliesCapped: past MaxFamilies, new families count as
// "other", whatever the keys.
func TestConsistencyFamiliesCapped(t *testing.T) {
	t.Parallel()
	c := &Consistency{families: map[string]bool{}}
	seen := map[string]bool{}
	for i := range 3 * MaxFamilies {
		name := ""
		for n := i; ; n /= 26 {
			name += string(rune('a' + n%26))
			if n < 26 {
				break
			}
		}
		seen[c.familyLocked(name+":1")] = true
	}
	if len(seen) != MaxFamilies+1 || !seen["other"] {
		t.Errorf("%d families counted, want %d and other", len(seen), MaxFamilies)
	}
	if got := c.familyLocked("a:1"); got != "a" {
		t.Errorf("a family seen before the cap is %q, want a", got)
	}
}

func TestConsistencyPercent(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		checks, mismatches int64
		want               string
	}{
		{0, 0, "–"}, {10, 0, "100%"}, {1, 1, "0.0%"}, {3, 1, "66.6%"}, {1000, 1, "99.9%"},
		{10_000, 1, "99.99%"}, {1_000_000, 1, "99.9999%"}, {999_999, 1, "99.9998%"}, {100_000, 3, "99.997%"},
	} {
		if got := ConsistencyPercent(tc.checks, tc.mismatches); got != tc.want {
			t.Errorf("ConsistencyPercent(%d, %d) = %q, want %q", tc.checks, tc.mismatches, got, tc.want)
		}
	}
}
