package web_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"example.com/shop/internal/testdb"
	"example.com/shop/internal/testlog"
	"github.com/chromedp/chromedp"
)

// browser starts a headless Chromium (Debian's chromium package; .ci/run
// installs it) for one test.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := ""
	for _, p := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if found, err := exec.LookPath(p); err == nil {
			path = found
			break
		}
	}
	if path == "" {
		t.Fatal("no Chromium: `apt-get install chromium` (.ci/run does)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	// chromedp logs what it cannot make of the browser with the log
	// package; the test's log is where it belongs.
	logs := testlog.Writer(t)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithLogf(func(format string, v ...any) { fmt.Fprintf(logs, format+"\n", v...) }))
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// Start the browser on this context, so that actions run with
	// shorter-lived contexts derived from it do not take it down with them.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancelTimeout)
	return ctx
}

// artifact returns where a test keeps a file for people to look at:
// TEST_ARTIFACTS_DIR, or artifacts/ at the top of the repository.
func artifact(t *testing.T, name string) string {
	t.Helper()
	dir := os.Getenv("TEST_ARTIFACTS_DIR")
	if dir == "" {
		_, file, _, _ := runtime.Caller(0)
		dir = filepath.Join(filepath.Dir(file), "..", "..", "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, name)
}

// serverTiming is an entry of PerformanceNavigationTiming.serverTiming.
type serverTiming struct {
	Name        string  `json:"name"`
	Duration    float64 `json:"duration"`
	Description string  `json:"description"`
}

// TestBrowserSeesTheCache opens a product page with the debug panel on in
// a real browser, reads the Server-Timing the browser took from the
// response (what its developer tools draw), and saves a screenshot.
func TestBrowserSeesTheCache(t *testing.T) {
	t.Parallel()
	shop := newTestShopWith(t, map[string]string{"DEV": "1"})
	ctx := browser(t)
	page := shop.url + anonPages(shop)[4] + "?debug=1"

	if err := chromedp.Do(ctx, chromedp.Navigate(page), chromedp.WaitVisible(".debug-panel")); err != nil {
		t.Fatal(err)
	}
	timings, err := chromedp.Run(ctx, chromedp.Evaluate[[]serverTiming](
		`performance.getEntriesByType("navigation")[0].serverTiming.map(e => ({name: e.name, duration: e.duration, description: e.description}))`))
	if err != nil {
		t.Fatal(err)
	}
	panel, err := chromedp.Run(ctx, chromedp.Text(".debug-panel summary"))
	if err != nil {
		t.Fatal(err)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(90))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(artifact(t, "product-page-debug-panel.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
	names := map[string]serverTiming{}
	for _, e := range timings {
		names[e.Name] = e
	}
	for _, want := range []string{"cache", "db", "render", "total"} {
		if _, ok := names[want]; !ok {
			t.Errorf("the browser's Server-Timing lacks %q: %+v", want, timings)
		}
	}
	if names["total"].Duration <= 0 || !strings.Contains(names["db"].Description, "SQL") {
		t.Errorf("Server-Timing entries: %+v", timings)
	}
	if !strings.Contains(panel, "page cache") || len(shot) < 10_000 {
		t.Errorf("panel summary %q, screenshot of %d bytes", panel, len(shot))
	}
}

// TestBrowserJourney is a customer's visit in a real browser: register,
// browse, add to the cart, check out, find the order on the dashboard.
// Then an admin changes the product's price, and the product page shows
// it at once, to the admin and to a visitor whose browser had the old page.
// Screenshots of each step are kept as artifacts.
func TestBrowserJourney(t *testing.T) {
	t.Parallel()
	shop := newTestShop(t)
	product := shop.scalar(`SELECT id FROM products WHERE active AND stock > 10 ORDER BY sold_count DESC LIMIT 1`)
	productURL := fmt.Sprintf("%s/products/%d", shop.url, product)
	ctx := browser(t)
	shot := func(name string) {
		t.Helper()
		b, err := chromedp.Run(ctx, chromedp.FullScreenshot(80))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(artifact(t, "journey-"+name+".png"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	step := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			// A screenshot of what failed, if the browser still answers:
			// never one that hides the failure behind its own.
			fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if b, serr := chromedp.Run(fctx, chromedp.FullScreenshot(80)); serr == nil {
				_ = os.WriteFile(artifact(t, "journey-"+name+"-failed.png"), b, 0o644)
			}
			t.Fatalf("%s: %v", name, err)
		}
		shot(name)
	}
	email := fmt.Sprintf("browser%d@example.com", time.Now().UnixNano())

	step("1-register",
		chromedp.Navigate(shop.url+"/register"),
		chromedp.SendKeys(`input[name="name"]`, "Bea Browser"),
		chromedp.SendKeys(`input[name="email"]`, email),
		chromedp.SendKeys(`input[name="password"]`, "a long enough password"),
		chromedp.Click(`form[action="/register"] button`),
		chromedp.WaitVisible(`a[href="/cart"]`),
	)
	step("2-browse",
		chromedp.Navigate(shop.url+"/"),
		chromedp.WaitVisible(".card"),
		chromedp.Navigate(productURL),
		chromedp.WaitVisible(`form[action="/cart/items"] button`),
	)
	step("3-add-to-cart",
		chromedp.Click(`form[action="/cart/items"] button`),
		chromedp.WaitVisible(`form[action="/checkout"] button`),
	)
	badge, err := chromedp.Run(ctx, chromedp.Text(".cart .badge"))
	if err != nil || strings.TrimSpace(badge) != "1" {
		t.Errorf("the cart badge says %q (%v), want 1", badge, err)
	}
	// Each step that submits a form waits for what only the next page
	// shows: the page it left has a <main> and an <h1> too, and the next
	// step would read it, or navigate away while the form's request is on
	// its way (which cancels it).
	step("4-checkout",
		chromedp.Click(`form[action="/checkout"] button`),
		chromedp.WaitVisible(`h1 + p .status`),
	)
	location, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil || !strings.Contains(location, "/orders/") {
		t.Fatalf("after the checkout the browser is at %q (%v)", location, err)
	}
	order := location[strings.LastIndex(location, "/")+1:]
	step("5-dashboard", chromedp.Navigate(shop.url+"/dashboard"), chromedp.WaitVisible(`main`))
	dashboard, err := chromedp.Run(ctx, chromedp.Text(`body`))
	if err != nil || !strings.Contains(dashboard, "#"+order) || !strings.Contains(dashboard, "Bea Browser") {
		t.Errorf("the dashboard does not show order #%s for Bea Browser (%v):\n%.500s", order, err, dashboard)
	}

	// A visitor's browser keeps the product page (and its ETag) ...
	if err := chromedp.Do(ctx, chromedp.Navigate(productURL), chromedp.WaitVisible(`.price.big`)); err != nil {
		t.Fatal(err)
	}
	before, err := chromedp.Run(ctx, chromedp.Text(`.price.big`))
	if err != nil {
		t.Fatal(err)
	}
	// ... while an admin changes the price.
	step("6-logout",
		chromedp.Click(`form[action="/logout"] button`),
		chromedp.WaitVisible(`a[href^="/login"]`),
	)
	step("7-admin-login",
		chromedp.Navigate(shop.url+"/login"),
		chromedp.SendKeys(`input[name="email"]`, "admin@shop.test"),
		chromedp.SendKeys(`input[name="password"]`, testdb.Password),
		chromedp.Click(`form[action="/login"] button`),
		chromedp.WaitVisible(`a[href="/admin"]`),
	)
	newPrice := "987.65"
	step("8-admin-price",
		chromedp.Navigate(fmt.Sprintf("%s/admin/products/%d/edit", shop.url, product)),
		chromedp.SetValue(`input[name="price"]`, newPrice),
		chromedp.Click(`form.panel button`),
		chromedp.WaitVisible(`table.admin`), // the products' list, where a saved form goes
	)
	step("9-product-after", chromedp.Navigate(productURL), chromedp.WaitVisible(`.price.big`))
	after, err := chromedp.Run(ctx, chromedp.Text(`.price.big`))
	if err != nil || strings.TrimSpace(after) != newPrice {
		t.Errorf("the product page shows %q after the change (%v), want %s (it showed %s before)", after, err, newPrice, before)
	}
	// And a visitor without a session, whose cache is cold, sees it too.
	anon := shop.client().get(fmt.Sprintf("/products/%d", product))
	if !strings.Contains(anon.body, newPrice) {
		t.Error("an anonymous visitor does not see the new price")
	}
}
