package web

import (
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
)

// TestBuildVersion: the build version moves with the templates and with
// the binary, which holds the template functions a template's source does
// not show, and stays put when neither changed (so that the instances of
// one deploy share their pages and fragments).
func TestBuildVersion(t *testing.T) {
	dir := t.TempDir()
	binary := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	files := fstest.MapFS{"templates/partials/product_card.html": {Data: []byte(`{{stars .Rating}}`)}}
	edited := fstest.MapFS{"templates/partials/product_card.html": {Data: []byte(`<b>{{stars .Rating}}</b>`)}}
	stars := binary("shop", `stars draws "*"`)
	otherStars := binary("shop-next", `stars draws "★"`)
	sameStars := binary("shop-copy", `stars draws "*"`)
	base := buildVersion(files, stars)
	tests := []struct {
		name  string
		got   string
		equal bool
	}{
		{"the same build on another instance", buildVersion(files, sameStars), true},
		{"a changed template function", buildVersion(files, otherStars), false},
		{"a changed template", buildVersion(edited, stars), false},
	}
	for _, tt := range tests {
		if (tt.got == base) != tt.equal {
			t.Errorf("%s: %q against %q, want equal %v", tt.name, tt.got, base, tt.equal)
		}
	}
	if buildVersion(files, filepath.Join(dir, "missing")) == "" {
		t.Error("no build version without a readable binary")
	}
}
