package web_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

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
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
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
