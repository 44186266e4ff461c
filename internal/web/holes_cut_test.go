package web

import (
	"testing"

	"example.com/shop/internal/cache/httpcache"
)

// TestCutHoles: the marks of Hole are cut out, and each hole's place is
// where its content ends up in the page.
func TestCutHoles(t *testing.T) {
	page := []byte("<nav>\x00Haccount\x000\x00<a>Log in</a>\x00E</nav><p>\x00Hwishlist\x0042\x00<b>w</b>\x00E</p>")
	got, holes, err := cutHoles(page)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "<nav><a>Log in</a></nav><p><b>w</b></p>" {
		t.Fatalf("page = %q", got)
	}
	want := []httpcache.Hole{{Name: "account", Start: 5, End: 18}, {Name: "wishlist", Arg: 42, Start: 27, End: 35}}
	if len(holes) != len(want) {
		t.Fatalf("holes = %+v", holes)
	}
	for i := range want {
		if holes[i] != want[i] || string(got[holes[i].Start:holes[i].End]) == "" {
			t.Errorf("hole %d = %+v, want %+v", i, holes[i], want[i])
		}
	}
	for _, bad := range []string{"\x00Hx", "\x00Hx\x00y\x00z\x00E", "\x00Hx\x001\x00never ends"} {
		if _, _, err := cutHoles([]byte(bad)); err == nil {
			t.Errorf("cutHoles(%q) took a broken mark", bad)
		}
	}
}
