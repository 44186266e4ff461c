package params

import (
	"net/url"
	"testing"
)

func TestPage(t *testing.T) {
	tests := []struct {
		in      string
		want    int
		wantErr bool
	}{
		{"", 1, false}, {"1", 1, false}, {"10000", 10000, false}, {"01", 0, true},
		{"0", 0, true}, {"-1", 0, true}, {"+2", 0, true}, {"1e12", 0, true}, {"10001", 0, true},
		{"999999999999", 0, true}, {"2.0", 0, true}, {"abc", 0, true}, {"1 ", 0, true}, {"\xff", 0, true},
	}
	for _, tt := range tests {
		got, err := Page(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("Page(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestID(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"1", 1, false}, {"42", 42, false}, {"999999999999999999", 999999999999999999, false},
		{"0", 0, true}, {"042", 0, true}, {"+42", 0, true}, {"-1", 0, true}, {"4x", 0, true},
		{"", 0, true}, {"1234567890123456789", 0, true}, {"x.css", 0, true},
	}
	for _, tt := range tests {
		got, err := ID(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ID(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestLinks(t *testing.T) {
	keep := url.Values{"sort": {"price"}}
	tests := []struct {
		name            string
		page            int
		hasNext         bool
		wantPrev, wantN string
	}{
		{"first of several", 1, true, "", "/products?page=2&sort=price"},
		{"second goes back to the bare URL", 2, true, "/products?sort=price", "/products?page=3&sort=price"},
		{"last", 3, false, "/products?page=2&sort=price", ""},
		{"only", 1, false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Links("/products", keep, "page", tt.page, tt.hasNext)
			if p.PrevURL != tt.wantPrev || p.NextURL != tt.wantN || p.Page != tt.page {
				t.Errorf("Links = %+v, want prev %q next %q", p, tt.wantPrev, tt.wantN)
			}
		})
	}
	if keep.Get("page") != "" {
		t.Error("Links changed the values it was given")
	}
}
