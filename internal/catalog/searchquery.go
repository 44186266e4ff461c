package catalog

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxQueryLength bounds a search query, in characters: the terms past it
// are left out.
const MaxQueryLength = 100

// maxTypedLength is how much of what is typed the shop reads at all.
const maxTypedLength = 4 * MaxQueryLength

// maxSearchTerms bounds the words and phrases of a query; the rest are
// left out.
const maxSearchTerms = 8

// SearchQuery is a search as the shop understands it. Two queries that
// mean the same (case, spacing, punctuation, the order of words that are
// all required, stop words) have the same SearchQuery, and so share their
// cache entries.
type SearchQuery struct {
	// Text is the normalized query: what the page shows and what the
	// caches key on. ParseSearch(q.Text) == q.
	Text string
	// Words are the terms for PostgreSQL's websearch_to_tsquery: words,
	// "quoted phrases", -excluded terms and "or".
	Words string
	// Prefix is the last word typed, matched as the beginning of a word
	// ("sneak" finds sneakers); it holds letters, digits and marks only.
	Prefix string
	// Plain is the words to look for, without operators: what the
	// misspelling fallback compares with product names.
	Plain string
}

// Empty reports whether there is nothing to search for.
func (q SearchQuery) Empty() bool { return q.Words == "" && q.Prefix == "" }

// Excludes reports whether the query leaves words out: the misspelling
// fallback, which looks at names only, could not honour that.
func (q SearchQuery) Excludes() bool { return strings.Contains(" "+q.Words, " -") }

// searchTerm is a word, a phrase, or the "or" operator.
type searchTerm struct {
	words []string
	neg   bool
	or    bool
}

func (t searchTerm) String() string {
	switch {
	case t.or:
		return "or"
	case len(t.words) == 1 && t.neg:
		return "-" + t.words[0]
	case len(t.words) == 1:
		return t.words[0]
	case t.neg:
		return `-"` + strings.Join(t.words, " ") + `"`
	}
	return `"` + strings.Join(t.words, " ") + `"`
}

// plainWord reports whether t is a single required word.
func (t searchTerm) plainWord() bool { return !t.or && !t.neg && len(t.words) == 1 }

// ParseSearch reads what a visitor typed into the search box. It never
// fails: text without a word to look for is an empty query.
//
//   - It is lower-cased and put in Unicode's composed form (NFC);
//     invalid UTF-8 is a space. The normalized query
//     holds at most maxSearchTerms terms and MaxQueryLength characters.
//   - Words are runs of letters, digits and marks; anything else
//     separates them.
//     "quoted text" is a phrase, a leading minus excludes a word or a
//     phrase, "or" between terms is an alternative (websearch syntax).
//   - The last word, when it is a required word, is a prefix: it is being
//     typed.
//   - Stop words ("the", "for"…) are dropped, as full-text search drops
//     them anyway, unless the query is nothing else; so are phrases and
//     exclusions of stop words, and an "or" that does not stand between
//     two wanted terms.
//   - Without "or", every term is required and their order does not
//     matter: they are sorted (the prefix stays last).
func ParseSearch(typed string) SearchQuery {
	typed = strings.ToValidUTF8(typed, " ")
	if utf8.RuneCountInString(typed) > maxTypedLength {
		typed = string([]rune(typed)[:maxTypedLength])
	}
	typed = strings.ToLower(norm.NFC.String(typed))
	terms := tidy(lexSearch(typed))

	var q SearchQuery
	hasOr := slices.ContainsFunc(terms, func(t searchTerm) bool { return t.or })
	if n := len(terms); n > 0 && !hasOr && terms[n-1].plainWord() {
		q.Prefix, terms = terms[n-1].words[0], terms[:n-1]
	}
	if !hasOr {
		terms = canonicalOrder(terms)
	}
	words := make([]string, len(terms))
	var plain []string
	for i, t := range terms {
		words[i] = t.String()
		if !t.or && !t.neg {
			plain = append(plain, t.words...)
		}
	}
	q.Words = strings.Join(words, " ")
	q.Text = q.Words
	if q.Prefix != "" {
		plain = append(plain, q.Prefix)
		q.Text = strings.TrimSpace(q.Words + " " + q.Prefix)
	}
	q.Plain = strings.Join(plain, " ")
	if len(plain) == 0 {
		return SearchQuery{} // only exclusions: nothing to look for
	}
	return q
}

// isWordRune: letters, digits, and the marks that belong to letters (an
// accent not composed with its letter, the vowel signs of Indic scripts).
func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) }

// lexSearch splits lower-cased text into terms, in the order typed.
func lexSearch(s string) []searchTerm {
	var terms []searchTerm
	rs := []rune(s)
	for i := 0; i < len(rs); {
		neg := false
		if rs[i] == '-' && i+1 < len(rs) && (isWordRune(rs[i+1]) || rs[i+1] == '"') &&
			(i == 0 || !isWordRune(rs[i-1])) {
			neg = true
			i++
		}
		switch r := rs[i]; {
		case r == '"':
			j := i + 1
			for j < len(rs) && rs[j] != '"' {
				j++
			}
			// A phrase of one word is that word, as it would be unquoted.
			ws := wordsOf(rs[i+1 : j])
			terms = append(terms, searchTerm{words: ws, neg: neg, or: len(ws) == 1 && ws[0] == "or" && !neg})
			i = j + 1
		case isWordRune(r):
			j := i
			for j < len(rs) && isWordRune(rs[j]) {
				j++
			}
			w := string(rs[i:j])
			terms = append(terms, searchTerm{words: []string{w}, neg: neg, or: w == "or" && !neg})
			i = j
		default:
			i++
		}
	}
	return terms
}

func wordsOf(rs []rune) []string {
	return strings.FieldsFunc(string(rs), func(r rune) bool { return !isWordRune(r) })
}

// tidy drops empty phrases, phrases of stop words only, stop words
// (unless the query is nothing else: "for" may be the start of
// "formal"), exclusions of stop words and "or"s that do not stand between
// two wanted terms, then keeps the terms that fit in maxSearchTerms and
// MaxQueryLength characters.
func tidy(terms []searchTerm) []searchTerm {
	var out []searchTerm
	for i, t := range terms {
		last := i == len(terms)-1
		switch {
		case len(t.words) == 0 || (len(t.words) > 1 && allStopWords(t.words)):
			continue
		case len(t.words) == 1 && !t.or && stopWords[t.words[0]] && (t.neg || !last):
			continue
		}
		out = append(out, t)
	}
	if n := len(out); n > 1 && out[n-1].plainWord() && stopWords[out[n-1].words[0]] {
		out = out[:n-1] // a stop word typed last, after words that say more
	}
	out = pairOrs(out)
	length, n := -1, 0
	for i, t := range out {
		length += 1 + utf8.RuneCountInString(t.String())
		if !t.or {
			n++
		}
		if length > MaxQueryLength || n > maxSearchTerms {
			out = out[:i]
			break
		}
	}
	return pairOrs(out)
}

func allStopWords(words []string) bool {
	for _, w := range words {
		if !stopWords[w] {
			return false
		}
	}
	return true
}

// pairOrs drops every "or" that does not stand between two wanted terms
// (an alternative of an exclusion would match most of the catalog).
func pairOrs(terms []searchTerm) []searchTerm {
	var kept []searchTerm
	for i, t := range terms {
		if t.or && (len(kept) == 0 || kept[len(kept)-1].or || kept[len(kept)-1].neg ||
			i == len(terms)-1 || terms[i+1].neg || terms[i+1].or) {
			continue
		}
		kept = append(kept, t)
	}
	if n := len(kept); n > 0 && kept[n-1].or {
		kept = kept[:n-1]
	}
	return kept
}

// canonicalOrder sorts terms that are all required: words, then phrases,
// then exclusions, each alphabetically, without repeats.
func canonicalOrder(terms []searchTerm) []searchTerm {
	group := func(t searchTerm) int {
		switch {
		case t.neg:
			return 2
		case len(t.words) > 1:
			return 1
		}
		return 0
	}
	slices.SortFunc(terms, func(a, b searchTerm) int {
		if d := group(a) - group(b); d != 0 {
			return d
		}
		return strings.Compare(a.String(), b.String())
	})
	return slices.CompactFunc(terms, func(a, b searchTerm) bool { return a.String() == b.String() })
}

// stopWords are PostgreSQL's English stop words: full-text search ignores
// them, so the shop leaves them out of its keys too.
var stopWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`i me my myself we our ours ourselves you your yours yourself
		yourselves he him his himself she her hers herself it its itself they them their theirs
		themselves what which who whom this that these those am is are was were be been being have
		has had having do does did doing a an the and but if or because as until while of at by for
		with about against between into through during before after above below to from up down in
		out on off over under again further then once here there when where why how all any both
		each few more most other some such no nor not only own same so than too very s t can will
		just don should now`) {
		m[w] = true
	}
	return m
}()
