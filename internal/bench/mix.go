package bench

import (
	"fmt"
	"math/rand"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"example.com/shop/internal/money"
)

// Kind is a kind of request of the load.
type Kind string

// The kinds of request, as a visitor of the shop makes them.
const (
	Home        Kind = "home"         // anonymous home page
	List        Kind = "list"         // anonymous category list, pages 1 to 5, any sort
	Product     Kind = "product"      // anonymous product page, Zipf-distributed
	Revalidate  Kind = "revalidate"   // anonymous product page with If-None-Match
	APIProduct  Kind = "api_product"  // the JSON of a product
	UserProduct Kind = "user_product" // a logged-in visitor's product page
	Dashboard   Kind = "dashboard"    // a customer's dashboard
	Cart        Kind = "cart"         // a customer's cart
	AddToCart   Kind = "add_to_cart"  // POST /cart/items
	Checkout    Kind = "checkout"     // POST /checkout
	PriceChange Kind = "price_change" // an admin raises a price (PATCH)
	StockChange Kind = "stock_change" // an admin changes a stock (PATCH)
	Hello       Kind = "hello"        // the constant response: /healthz
	HotPage     Kind = "hot_page"     // one page, always the same: the page cache's best case
	Search      Kind = "search"       // a search of the vocabulary, Zipf-distributed
	SearchMiss  Kind = "search_miss"  // a search nobody made before: the long tail
)

// Mix is a weighted set of request kinds.
type Mix struct {
	Name    string
	Weights map[Kind]float64
}

// The mixes the benchmark runs, each a function, so that no caller can
// change another's.

// Browse is anonymous browsing: what a page cache serves best. Searches
// are in Full: a search nobody made before cannot be served from a cache,
// and Browse measures what can.
func Browse() Mix {
	return Mix{"browse", map[Kind]float64{
		Home: 10, List: 30, Product: 40, Revalidate: 12, APIProduct: 8,
	}}
}

// Full is a day of a shop: anonymous browsing (85%, searches included: 6%
// of the vocabulary, 1.5% never seen before), customers who are logged in
// (13.5%: their product pages, dashboard and cart, adding to the cart, one
// checkout in a hundred requests) and admins changing prices and stock
// (1.5%, on the products people look at).
func Full() Mix {
	return Mix{"full", map[Kind]float64{
		Home: 9, List: 22, Product: 29, Revalidate: 10, APIProduct: 7, Search: 6, SearchMiss: 1.5,
		UserProduct: 4, Dashboard: 3, Cart: 3, AddToCart: 2.5, Checkout: 1,
		PriceChange: 0.75, StockChange: 0.75,
	}}
}

// Calibration is the constant response of the same server.
func Calibration() Mix { return Mix{"calibration", map[Kind]float64{Hello: 1}} }

// hotPage is the page of the page-hit mix: the home page, which every
// visitor may be served from the page cache.
const hotPage = "/"

// PageHit is one page the page cache always has.
func PageHit() Mix { return Mix{"page_hit", map[Kind]float64{HotPage: 1}} }

// Catalog is what the generator knows of the shop it loads. It is safe for
// concurrent use once filled.
type Catalog struct {
	ProductIDs []int64  // active products, best sellers first (Zipf rank order)
	Categories []string // category slugs, largest first (Zipf rank order)
	Pages      []int    // each category's number of list pages
	// Searches is the vocabulary of searches, most asked first (Zipf
	// rank order): see SearchVocabulary.
	Searches   []string
	AdminToken string

	customers []string // the customers' e-mails, to log them in
	etags     sync.Map // path → the last ETag a response gave, as a browser keeps it
}

// SawETag records the ETag of a response to path, for later conditional
// requests.
func (c *Catalog) SawETag(path, etag string) {
	if etag != "" {
		c.etags.Store(path, etag)
	}
}

func (c *Catalog) etag(path string) string {
	v, _ := c.etags.Load(path)
	s, _ := v.(string)
	return s
}

// Spec is one request to make.
type Spec struct {
	Kind    Kind
	Method  string
	Path    string
	Body    string
	Header  http.Header
	Product int64       // the product a product page or price change is about
	Price   money.Money // the price a price change asks for
}

// Visitors mostly keep the default order and the first page.
var (
	sorts       = []string{"", "?sort=newest", "?sort=price", "?sort=price_desc"}
	sortWeights = []float64{70, 10, 10, 10}
	pageWeights = []float64{50, 25, 12, 8, 5} // pages 1 to 5
)

// listPath is the URL of a category's list page.
func listPath(slug, sort string, page int) string {
	path := "/categories/" + slug + sort
	if page > 1 {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		path += fmt.Sprintf("%spage=%d", sep, page)
	}
	return path
}

// pick returns an index drawn with the given weights.
func pick(r *rand.Rand, weights []float64) int {
	total := 0.0
	for _, w := range weights {
		total += w
	}
	x := r.Float64() * total
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}

// Generator draws requests of a mix, reproducibly for a seed. It is safe
// for concurrent use.
type Generator struct {
	mu      sync.Mutex
	r       *rand.Rand
	zipf    *rand.Zipf // over products
	catZipf *rand.Zipf // over categories
	mix     Mix
	cat     *Catalog
	session []string
	kinds   []Kind
	cum     []float64
	prices  *Prices
	qZipf   *rand.Zipf // over the search vocabulary
	misses  int        // searches made up so far
}

// NewGenerator returns a generator of mix over cat, whose logged-in
// requests use the session cookies given. Products and categories are
// chosen by a Zipf law (s = 1.1) over their rank; prices tells the price
// changes what to ask for.
func NewGenerator(mix Mix, cat *Catalog, sessions []string, prices *Prices, seed int64) *Generator {
	r := rand.New(rand.NewSource(seed))
	g := &Generator{r: r, mix: mix, cat: cat, session: sessions, prices: prices}
	if n := len(cat.ProductIDs); n > 1 {
		g.zipf = rand.NewZipf(r, 1.1, 1, uint64(n-1))
	}
	if n := len(cat.Categories); n > 1 {
		g.catZipf = rand.NewZipf(r, 1.1, 1, uint64(n-1))
	}
	if n := len(cat.Searches); n > 1 {
		g.qZipf = rand.NewZipf(r, 1.1, 1, uint64(n-1))
	}
	// A fixed order, so the same seed draws the same requests.
	for _, k := range []Kind{Home, List, Product, Revalidate, APIProduct, UserProduct, Dashboard, Cart, AddToCart, Checkout, PriceChange, StockChange, Hello, HotPage, Search, SearchMiss} {
		if w := mix.Weights[k]; w > 0 {
			total := w
			if len(g.cum) > 0 {
				total += g.cum[len(g.cum)-1]
			}
			g.kinds = append(g.kinds, k)
			g.cum = append(g.cum, total)
		}
	}
	return g
}

func (g *Generator) product() int64 {
	if g.zipf == nil {
		return g.cat.ProductIDs[0]
	}
	return g.cat.ProductIDs[g.zipf.Uint64()]
}

func (g *Generator) category() int {
	if g.catZipf == nil {
		return 0
	}
	return int(g.catZipf.Uint64())
}

// Next draws the next request.
func (g *Generator) Next() Spec {
	g.mu.Lock()
	defer g.mu.Unlock()
	x := g.r.Float64() * g.cum[len(g.cum)-1]
	k := g.kinds[len(g.kinds)-1]
	for i, c := range g.cum {
		if x < c {
			k = g.kinds[i]
			break
		}
	}
	s := Spec{Kind: k, Method: http.MethodGet, Header: http.Header{}}
	session := func() {
		if len(g.session) > 0 {
			s.Header.Set("Cookie", g.session[g.r.Intn(len(g.session))])
		}
	}
	switch k {
	case Home:
		s.Path = "/"
	case List:
		c := g.category()
		pages := pageWeights
		if c < len(g.cat.Pages) && g.cat.Pages[c] < len(pages) {
			pages = pages[:max(1, g.cat.Pages[c])]
		}
		s.Path = listPath(g.cat.Categories[c], sorts[pick(g.r, sortWeights)], 1+pick(g.r, pages))
	case Product, Revalidate:
		s.Product = g.product()
		s.Path = fmt.Sprintf("/products/%d", s.Product)
		if k == Revalidate {
			if etag := g.cat.etag(s.Path); etag != "" {
				s.Header.Set("If-None-Match", etag)
			}
		}
	case APIProduct:
		s.Product = g.product()
		s.Path = fmt.Sprintf("/api/products/%d", s.Product)
	case UserProduct:
		s.Product = g.product()
		s.Path = fmt.Sprintf("/products/%d", s.Product)
		session()
	case Dashboard:
		s.Path = "/dashboard"
		session()
	case Cart:
		s.Path = "/cart"
		session()
	case AddToCart:
		s.Method, s.Path = http.MethodPost, "/cart/items"
		s.Body = fmt.Sprintf("product_id=%d&quantity=1", g.product())
		s.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		session()
	case Checkout:
		s.Method, s.Path = http.MethodPost, "/checkout"
		session()
	case PriceChange, StockChange:
		s.Product = g.product()
		if k == PriceChange {
			// One change per product in flight: a product whose change
			// is still on its way gets a stock change instead.
			price, ok := g.prices.Claim(s.Product)
			for try := 0; !ok && try < 3; try++ {
				s.Product = g.product()
				price, ok = g.prices.Claim(s.Product)
			}
			if ok {
				s.Price = price
				s.Body = fmt.Sprintf(`{"price":%q}`, price.String())
			} else {
				s.Kind = StockChange
			}
		}
		if s.Kind == StockChange {
			s.Body = fmt.Sprintf(`{"stock":%d}`, 50+g.r.Intn(500))
		}
		s.Method, s.Path = http.MethodPatch, fmt.Sprintf("/api/admin/products/%d", s.Product)
		s.Header.Set("Content-Type", "application/json")
		s.Header.Set("Authorization", "Bearer "+g.cat.AdminToken)
	case Hello:
		s.Path = "/healthz"
	case HotPage:
		s.Path = hotPage
	case Search:
		s.Path = searchPath(g.search())
	case SearchMiss:
		// A word of the vocabulary and one nobody typed before: matches
		// nothing, so it runs the full-text search and the misspelling
		// fallback, and must not be stored.
		g.misses++
		s.Path = searchPath(fmt.Sprintf("%s qz%dx%d", g.search(), g.misses, g.r.Intn(1e6)))
	}
	return s
}

func (g *Generator) search() string {
	switch {
	case len(g.cat.Searches) == 0:
		return "gift"
	case g.qZipf == nil:
		return g.cat.Searches[0]
	}
	return g.cat.Searches[g.qZipf.Uint64()]
}

func searchPath(q string) string { return "/search?q=" + url.QueryEscape(q) }

// searchWords qualify the category names in the search vocabulary: words
// the seed's product names are made of.
var searchWords = []string{"red", "wool", "leather", "blue", "oak", "cotton", "black", "ceramic", "linen", "green"}

// SearchVocabulary returns the searches the load makes, most asked first:
// each category's name (largest categories first), then that name with a
// colour or material, as visitors type them.
func SearchVocabulary(categoryNames []string) []string {
	var v []string
	for _, n := range categoryNames {
		v = append(v, strings.ToLower(n))
	}
	for i, w := range searchWords {
		for j, n := range categoryNames {
			if (i+j)%3 == 0 {
				v = append(v, w+" "+strings.ToLower(n))
			}
		}
	}
	return v
}

// Expected reports whether status is a right answer to a request of kind
// k: anything else is an error of the run.
func Expected(k Kind, status int) bool {
	switch k {
	case Revalidate:
		return status == http.StatusOK || status == http.StatusNotModified
	case AddToCart:
		return status == http.StatusSeeOther
	case Checkout:
		// An empty cart (422) or a product sold out (409) is the shop
		// answering right.
		return status == http.StatusSeeOther || status == http.StatusUnprocessableEntity || status == http.StatusConflict
	case PriceChange, StockChange:
		// A product changed by a checkout between the change's read and
		// its write is a conflict the client may retry.
		return status == http.StatusOK || status == http.StatusConflict
	}
	return status == http.StatusOK
}
