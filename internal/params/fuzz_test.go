package params

import (
	"strconv"
	"testing"
)

// FuzzPage: a page parameter is refused, or read as a page from 1 to
// MaxPage written exactly as given: one page, one spelling, one URL.
func FuzzPage(f *testing.F) {
	for _, s := range []string{"", "1", "2", "-1", "0", "1e12", "10000", "10001", "007", "+3", " 4", "٣", "';--", "9999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Page(s)
		if err != nil {
			return
		}
		if n < 1 || n > MaxPage {
			t.Fatalf("Page(%q) = %d", s, n)
		}
		if s != "" && strconv.Itoa(n) != s {
			t.Fatalf("Page(%q) = %d: another spelling of page %d", s, n, n)
		}
	})
}

// FuzzID: an id is refused, or a positive number written exactly as given.
func FuzzID(f *testing.F) {
	for _, s := range []string{"1", "42", "0", "-5", "042", "+1", "1.0", "99999999999999999999", "9223372036854775807", "abc", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ID(s)
		if err != nil {
			return
		}
		if n < 1 || strconv.FormatInt(n, 10) != s {
			t.Fatalf("ID(%q) = %d", s, n)
		}
	})
}
