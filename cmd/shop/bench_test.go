package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"example.com/shop/internal/bench"
	"example.com/shop/internal/testdb"
	"example.com/shop/internal/testlog"
)

// TestBenchQuick runs `shop bench --quick --scale 1` against real shop
// processes of this code, cache off and in memory, and checks the report:
// produced, complete, no stale read, and the cache cutting the database's
// work. Timings are not checked: this machine may be slow and busy.
func TestBenchQuick(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	readme := filepath.Join(out, "README.md")
	os.WriteFile(readme, []byte("# Shop\n<!-- bench:begin -->\n<!-- bench:end -->\n"), 0o644)
	var stdout, stderr testlog.Buffer
	// Its own seed, so its dataset is its own too.
	err := run(context.Background(), []string{"bench", "--quick", "--scale", "1", "--seed", "11", "--out", out, "--readme", readme},
		env(map[string]string{"DATABASE_URL": testdb.ServerURL()}), &stdout, io.MultiWriter(&stderr, testWriter{t}))
	if err != nil {
		t.Fatalf("shop bench: %v\n%s", err, stderr.String())
	}
	matches, _ := filepath.Glob(filepath.Join(out, "*-scale1-quick.json"))
	if len(matches) != 1 {
		t.Fatalf("report files: %v", matches)
	}
	r, err := bench.Read(matches[0])
	if err != nil {
		t.Fatal(err)
	}
	if r.StaleReads != 0 {
		t.Errorf("%d stale reads", r.StaleReads)
	}
	if r.PriceReads == 0 || r.PriceWrites == 0 {
		t.Errorf("%d price reads, %d price changes: the stale check checked nothing", r.PriceReads, r.PriceWrites)
	}
	if len(r.Calibration) != 2 || len(r.Capacities) != 4 || len(r.Comparisons) != 2 || r.ColdStart == nil {
		t.Errorf("report has %d calibrations, %d capacities, %d comparisons, cold start %v",
			len(r.Calibration), len(r.Capacities), len(r.Comparisons), r.ColdStart)
	}
	for _, c := range r.Comparisons {
		if len(c.Phases) != 4 {
			t.Errorf("%s comparison: %d phases", c.Mix, len(c.Phases))
		}
		for _, p := range c.Phases {
			if p.Requests == 0 {
				t.Errorf("%s/%s: no requests", p.Config, p.Mix)
			}
		}
		if c.Mix == "browse" && !(c.SQLRatio < 0.5) {
			t.Errorf("browsing ran %.3f of cache-off's SQL with the cache on", c.SQLRatio)
		}
	}
	if len(r.Targets) < 6 {
		t.Errorf("%d targets judged", len(r.Targets))
	}
	for _, f := range []string{".md", "-latency.svg", "-sql.svg", "-hits.svg"} {
		if _, err := os.Stat(strings.TrimSuffix(matches[0], ".json") + f); err != nil {
			t.Error(err)
		}
	}
	b, _ := os.ReadFile(readme)
	if !strings.Contains(string(b), "| stale reads after acknowledged writes | 0 |") {
		t.Errorf("README not updated:\n%s", b)
	}
	// The capacity targets are left out on a machine too busy to find
	// the cache-off shop's capacity; the summary's table is always there.
	if !strings.Contains(stdout.String(), "| stale reads after acknowledged writes |") {
		t.Errorf("no summary printed:\n%s", stdout.String())
	}
}

// testWriter sends progress lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
