package catalog

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestParseSearch(t *testing.T) {
	for _, c := range []struct {
		typed                      string
		text, words, prefix, plain string
	}{
		{"", "", "", "", ""},
		{"   \t ", "", "", "", ""},
		{"!!! ??? ;--", "", "", "", ""},
		{"Red  Shoes", "red shoes", "red", "shoes", "red shoes"},
		{"red shoes", "red shoes", "red", "shoes", "red shoes"},
		{"  RED\tshoes ", "red shoes", "red", "shoes", "red shoes"},
		// Required words in any order share a query; the last one typed is
		// the prefix.
		{"leather brown boots", "brown leather boots", "brown leather", "boots", "brown leather boots"},
		{"brown leather boots", "brown leather boots", "brown leather", "boots", "brown leather boots"},
		// Stop words go, unless they are all there is.
		{"the shoes for the office", "shoes office", "shoes", "office", "shoes office"},
		{"shoes for", "shoes", "", "shoes", "shoes"},
		{"for", "for", "", "for", "for"}, // alone, it may be the start of "formal"
		{`"the a" -red`, "", "", "", ""},
		{"red or -blue", "red -blue", "red -blue", "", "red"}, // an alternative of an exclusion is no alternative
		{"cafe\u0301 mugs", "café mugs", "café", "mugs", "café mugs"},
		// Websearch syntax.
		{`"running shoes" red`, `"running shoes" red`, `"running shoes"`, "red", "running shoes red"},
		{`red -leather`, "red -leather", "red -leather", "", "red"},
		{`-leather red`, "-leather red", "-leather", "red", "red"},
		{`red or blue`, "red or blue", "red or blue", "", "red blue"},
		{`or red or or blue or`, "red or blue", "red or blue", "", "red blue"},
		{`-"cheap plastic" mug`, `-"cheap plastic" mug`, `-"cheap plastic"`, "mug", "mug"},
		{`"unfinished phrase`, `"unfinished phrase"`, `"unfinished phrase"`, "", "unfinished phrase"},
		{`""`, "", "", "", ""},
		{`-leather`, "", "", "", ""}, // only an exclusion: nothing to look for
		// Punctuation separates words; a hyphen inside a word is not a minus.
		{"t-shirt", "shirt", "", "shirt", "shirt"},
		{"red'; DROP TABLE products;--", "drop red table products", "drop red table", "products", "drop red table products"},
		{"Crème brûlée", "crème brûlée", "crème", "brûlée", "crème brûlée"},
		{"caf\xffe", "caf e", "caf", "e", "caf e"},
	} {
		q := ParseSearch(c.typed)
		if q.Text != c.text || q.Words != c.words || q.Prefix != c.prefix || q.Plain != c.plain {
			t.Errorf("ParseSearch(%q) = %+v, want text %q words %q prefix %q plain %q", c.typed, q, c.text, c.words, c.prefix, c.plain)
		}
	}
}

func TestParseSearchBounds(t *testing.T) {
	long := strings.Repeat("word", 500)
	if q := ParseSearch(long); q.Text != "" {
		t.Errorf("a 2000-letter word gave %q", q.Text)
	}
	many := strings.Repeat("lamp chair table ", 100)
	q := ParseSearch(many + "mug")
	if n := len(strings.Fields(q.Text)); n > maxSearchTerms {
		t.Errorf("%d terms kept, want at most %d", n, maxSearchTerms)
	}
	words := strings.Repeat("abcdefghij ", 30)
	if q := ParseSearch(words); utf8.RuneCountInString(q.Text) > MaxQueryLength {
		t.Errorf("%d characters kept, want at most %d", utf8.RuneCountInString(q.Text), MaxQueryLength)
	}
}

// FuzzParseSearch: whatever is typed, the normalized query parses to
// itself (so the links of a results page find the same cache entries), is
// bounded, and its prefix is a lexeme to_tsquery accepts.
func FuzzParseSearch(f *testing.F) {
	for _, s := range []string{"Red  Shoes", `"a b" -c or d`, "-", `-"`, "or", "t-shirt", "\xff", strings.Repeat("ab ", 80)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, typed string) {
		q := ParseSearch(typed)
		if again := ParseSearch(q.Text); again != q {
			t.Fatalf("ParseSearch(%q) = %+v, but its text parses to %+v", typed, q, again)
		}
		if utf8.RuneCountInString(q.Text) > MaxQueryLength || !utf8.ValidString(q.Text) {
			t.Fatalf("text %q: too long or not UTF-8", q.Text)
		}
		for _, r := range q.Prefix {
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
				t.Fatalf("prefix %q holds %q", q.Prefix, r)
			}
		}
		if q.Empty() != (q.Text == "") {
			t.Fatalf("%+v: empty and text disagree", q)
		}
	})
}
