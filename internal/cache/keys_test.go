package cache_test

import (
	"strings"
	"testing"

	"example.com/shop/internal/cache"
)

func TestKey(t *testing.T) {
	tests := []struct {
		parts []any
		want  string
	}{
		{[]any{"product", 42}, "product:42"},
		{[]any{"list", int64(7), cache.Named{"sort": "price", "page": 2}}, "list:7:page=2:sort=price"},
		{[]any{"search", "red shoes"}, "search:red%20shoes"},
		{[]any{"a:b"}, "a%3Ab"},
		{[]any{"star*", "new\nline"}, "star%2A:new%0Aline"},
		{[]any{"ünï"}, "%C3%BCn%C3%AF"},
		{[]any{true, int32(-3)}, "true:-3"},
	}
	for _, tt := range tests {
		if got := cache.Key(tt.parts...); got != tt.want {
			t.Errorf("Key(%v) = %q, want %q", tt.parts, got, tt.want)
		}
	}
	if got := cache.UserKey(5, "dashboard"); got != "user:5:dashboard" {
		t.Errorf("UserKey = %q", got)
	}
	if got := cache.EntityKey("product", 42, "reviews", 2); got != "product:42:reviews:2" {
		t.Errorf("EntityKey = %q", got)
	}
	long := cache.Key("list", strings.Repeat("x", 500))
	if len(long) > cache.MaxKeyLen || !strings.HasPrefix(long, "list:h:") {
		t.Errorf("a long key became %q (%d bytes)", long, len(long))
	}
	if cache.Key("list", strings.Repeat("x", 500)) == cache.Key("list", strings.Repeat("x", 499)+"y") {
		t.Error("two long keys hash the same")
	}
}

// FuzzKey checks what no input may break: a key is short, holds no byte
// that a store or a pattern treats specially, and two different parts
// never make the same key.
func FuzzKey(f *testing.F) {
	for _, s := range []string{"", "red shoes", "a:b", "*", "%3A", "\x00\xff", "ünï", strings.Repeat("z", 300)} {
		f.Add(s, s+"!")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ka, kb := cache.Key("search", a), cache.Key("search", b)
		for _, k := range []string{ka, kb} {
			if len(k) > cache.MaxKeyLen {
				t.Fatalf("key of %d bytes", len(k))
			}
			for i := range len(k) {
				c := k[i]
				ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._-~%:=", c) >= 0
				if !ok {
					t.Fatalf("key %q has byte %q", k, c)
				}
			}
			if strings.Count(k, ":") < 1 || strings.Contains(k, "*") {
				t.Fatalf("key %q", k)
			}
		}
		if a != b && ka == kb {
			t.Fatalf("Key(%q) == Key(%q) == %q", a, b, ka)
		}
		if a == b && ka != kb {
			t.Fatalf("the same part gave %q and %q", ka, kb)
		}
	})
}
