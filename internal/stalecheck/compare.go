package stalecheck

import (
	"bytes"
	"fmt"
	"html"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"example.com/shop/internal/money"
)

// A page's response, as the differential check compares it.
type response struct {
	status      int
	location    string // of a redirect
	contentType string
	body        []byte
	misses      int // X-Cache-Misses; -1 when the response did not say
	at          time.Time
}

// Per-response text that two renders of the same data may differ in, and
// nothing else: two cache-off renders of every page the check fetches were
// compared (Calibrate does it again at the start of every run, and fails
// the run when something else differs). The shop's pages carry no CSRF
// token (cross-site posts are refused by the Sec-Fetch-Site and Origin
// headers), no request id, and no debug panel for the customers the check
// logs in; what differs is the time a best-seller ranking was made, which
// lives inside a part marked with its declared staleness (see marked).
// So the only normalization is that: a marked part is taken out of the
// comparison and checked against its bound instead.

// markedPart is an element the template marked with data-staleness: its
// content may be up to bound old, and is checked (checkMarked) instead of
// compared.
type markedPart struct {
	bound time.Duration
	html  []byte
}

var stalenessAttr = regexp.MustCompile(`data-staleness="(\d+)s"`)

// splitMarked returns body with every marked element replaced by a
// placeholder, and the elements. A marked element runs from the tag that
// carries data-staleness to its matching end tag (elements of the same
// name nested inside are counted).
func splitMarked(body []byte) ([]byte, []markedPart, error) {
	var out bytes.Buffer
	var parts []markedPart
	rest := body
	for {
		loc := stalenessAttr.FindSubmatchIndex(rest)
		if loc == nil {
			out.Write(rest)
			return out.Bytes(), parts, nil
		}
		start := bytes.LastIndexByte(rest[:loc[0]], '<')
		if start < 0 {
			return nil, nil, fmt.Errorf("data-staleness outside a tag at byte %d", loc[0])
		}
		name := tagName(rest[start+1:])
		if name == "" {
			return nil, nil, fmt.Errorf("data-staleness in a tag without a name at byte %d", start)
		}
		end, err := matchingEnd(rest, start, name)
		if err != nil {
			return nil, nil, err
		}
		secs, _ := strconv.Atoi(string(rest[loc[2]:loc[3]]))
		parts = append(parts, markedPart{bound: time.Duration(secs) * time.Second, html: rest[start:end]})
		out.Write(rest[:start])
		fmt.Fprintf(&out, "<!-- part marked stale up to %ds -->", secs)
		rest = rest[end:]
	}
}

func tagName(b []byte) string {
	i := 0
	for i < len(b) && (b[i] >= 'a' && b[i] <= 'z' || b[i] >= '0' && b[i] <= '9') {
		i++
	}
	return string(b[:i])
}

// matchingEnd returns the index just past the end tag of the element named
// name that opens at start.
func matchingEnd(b []byte, start int, name string) (int, error) {
	open, closing := []byte("<"+name), []byte("</"+name+">")
	depth := 0
	for i := start; i < len(b); {
		switch {
		case bytes.HasPrefix(b[i:], closing):
			depth--
			i += len(closing)
			if depth == 0 {
				return i, nil
			}
		case bytes.HasPrefix(b[i:], open) && i+len(open) < len(b) && (b[i+len(open)] == ' ' || b[i+len(open)] == '>'):
			depth++
			i += len(open)
		default:
			i++
		}
	}
	return 0, fmt.Errorf("marked <%s> at byte %d has no end tag", name, start)
}

// window is how much text around the first differing byte a difference
// shows, on each side.
const window = 60

// firstDifference returns the offset of the first byte where a and b
// differ, and a short window of each around it; ok is false when they are
// equal.
func firstDifference(a, b []byte) (at int, wa, wb string, ok bool) {
	n := min(len(a), len(b))
	at = n
	for i := range n {
		if a[i] != b[i] {
			at = i
			break
		}
	}
	if at == n && len(a) == len(b) {
		return 0, "", "", false
	}
	return at, excerpt(a, at), excerpt(b, at), true
}

// excerpt is the text of b around offset at, on one line, cut on rune
// boundaries.
func excerpt(b []byte, at int) string {
	from, to := max(at-window, 0), min(at+window, len(b))
	for from > 0 && !utf8.RuneStart(b[from]) {
		from--
	}
	for to < len(b) && !utf8.RuneStart(b[to]) {
		to++
	}
	s := strings.Join(strings.Fields(string(b[from:to])), " ")
	if from > 0 {
		s = "…" + s
	}
	if to < len(b) {
		s += "…"
	}
	if at >= len(b) {
		s += "⟨end⟩"
	}
	return s
}

// compareResponses returns what differs between a cache-on response and
// the cache-off one, outside marked parts: status, redirect target,
// content type, body. The marked parts themselves are returned for
// checkMarked; their number must agree.
func compareResponses(cached, uncached response) (what, gotText, wantText string, parts []markedPart, err error) {
	switch {
	case cached.status != uncached.status:
		return "status", strconv.Itoa(cached.status), strconv.Itoa(uncached.status), nil, nil
	case cached.location != uncached.location:
		return "redirect", cached.location, uncached.location, nil, nil
	case cached.contentType != uncached.contentType:
		return "content type", cached.contentType, uncached.contentType, nil, nil
	}
	cb, cparts, err := splitMarked(cached.body)
	if err != nil {
		return "", "", "", nil, fmt.Errorf("cached page: %w", err)
	}
	ub, uparts, err := splitMarked(uncached.body)
	if err != nil {
		return "", "", "", nil, fmt.Errorf("uncached page: %w", err)
	}
	if at, a, b, differ := firstDifference(cb, ub); differ {
		return fmt.Sprintf("body at byte %d", at), a, b, nil, nil
	}
	if len(cparts) != len(uparts) {
		return "marked parts", strconv.Itoa(len(cparts)), strconv.Itoa(len(uparts)), nil, nil
	}
	return "", "", "", cparts, nil
}

// card is a product card as a page shows it.
type card struct {
	id          int64
	name, price string
	reviews     int // 0: "No reviews yet"
	stars       int // filled stars
	outOfStock  bool
}

var (
	cardRe    = regexp.MustCompile(`(?s)<article class="card">\s*<a href="/products/(\d+)" class="card-link">.*?<h3>(.*?)</h3>.*?<p class="price">(.*?)</p>\s*<p class="meta">(.*?)</p>`)
	reviewsRe = regexp.MustCompile(`(\d+) reviews?`)
	starsRe   = regexp.MustCompile(`<span class="stars"[^>]*>(★*)☆*</span>`)
	asOfRe    = regexp.MustCompile(`<time datetime="([^"]+)">`)
)

// cards returns the product cards in b.
func cards(b []byte) []card {
	var out []card
	for _, m := range cardRe.FindAllSubmatch(b, -1) {
		id, _ := strconv.ParseInt(string(m[1]), 10, 64)
		c := card{id: id, name: html.UnescapeString(string(m[2])), price: string(m[3])}
		meta := m[4]
		if r := reviewsRe.FindSubmatch(meta); r != nil {
			c.reviews, _ = strconv.Atoi(string(r[1]))
		}
		if s := starsRe.FindSubmatch(meta); s != nil {
			c.stars = utf8.RuneCount(s[1])
		}
		c.outOfStock = bytes.Contains(meta, []byte(`class="out"`))
		out = append(out, c)
	}
	return out
}

// current is a product as the database has it now; found is false when
// it is not for sale (deleted, or inactive).
type current struct {
	found       bool
	Name        string
	price       money.Money
	Price       string // price, as the shop writes it
	Stock       int
	ReviewCount int
	RatingTotal int
}

// stars is how many stars the shop draws for a product: its average
// rating, rounded.
func (c current) stars() int {
	if c.ReviewCount == 0 {
		return 0
	}
	r := float64(c.RatingTotal) / float64(c.ReviewCount)
	return min(max(int(r+0.5), 0), 5)
}

// checkMarked checks a marked part against its declared bound, as of at
// (when the page was fetched): the time it says it was made (a <time
// datetime> inside it) is at most bound old, and every product card in it
// shows what the product is now (lookup: the database). A part that shows
// nothing (no ranking yet) keeps its promise. It returns
// the problems found; none means the part keeps its promise.
func checkMarked(p markedPart, at time.Time, lookup func(id int64) (current, error)) ([]string, error) {
	var problems []string
	shown := cards(p.html)
	m := asOfRe.FindSubmatch(p.html)
	if len(shown) == 0 && m == nil {
		return nil, nil // nothing shown (no ranking yet): nothing can be stale
	}
	if m == nil {
		problems = append(problems, "the marked part does not say when it was made (no <time datetime>)")
	} else if asOf, err := time.Parse(time.RFC3339Nano, string(m[1])); err != nil {
		problems = append(problems, fmt.Sprintf("the marked part's time %q does not parse", m[1]))
	} else if age := at.Sub(asOf); age > p.bound {
		problems = append(problems, fmt.Sprintf("made %s before the fetch, over its declared bound of %s", age.Round(time.Second), p.bound))
	}
	for _, c := range shown {
		now, err := lookup(c.id)
		if err != nil {
			return nil, err
		}
		if !now.found {
			problems = append(problems, fmt.Sprintf("product %d is shown but is no longer for sale", c.id))
			continue
		}
		diff := func(field string, shown, is any) {
			problems = append(problems, fmt.Sprintf("product %d shows %s %v, it is %v", c.id, field, shown, is))
		}
		if c.name != now.Name {
			diff("name", strconv.Quote(c.name), strconv.Quote(now.Name))
		}
		if c.price != now.Price {
			diff("price", c.price, now.Price)
		}
		if c.reviews != now.ReviewCount {
			diff("review count", c.reviews, now.ReviewCount)
		}
		if c.stars != now.stars() {
			diff("stars", c.stars, now.stars())
		}
		if c.outOfStock != (now.Stock == 0) {
			diff("out of stock", c.outOfStock, now.Stock == 0)
		}
	}
	return problems, nil
}
