package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"example.com/shop/internal/bench"
	"example.com/shop/internal/cache/cachetest"
	"example.com/shop/internal/testdb"
	"example.com/shop/internal/testlog"
)

// TestMain lets the test binary be shopbench: with SHOPBENCH_TEST_MAIN=1
// it runs main, so that `shop bench` can run this very code.
func TestMain(m *testing.M) {
	if os.Getenv("SHOPBENCH_TEST_MAIN") == "1" {
		main()
	}
	os.Exit(m.Run())
}

// buildShop builds the shop binary of this code, with the race detector,
// into dir, and puts this test binary beside it as its shopbench.
func buildShop(t *testing.T, dir string) string {
	t.Helper()
	shop := filepath.Join(dir, "shop")
	build := exec.Command("go", "build", "-race", "-o", shop, "example.com/shop/cmd/shop")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the shop: %v\n%s", err, out)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(self, filepath.Join(dir, "shopbench")); err != nil {
		t.Fatal(err)
	}
	return shop
}

// TestBenchQuick runs `shop bench --quick --scale 1`, which runs shopbench,
// which starts real shop processes of this code, cache off and in memory;
// and checks the report: produced, complete, no stale read, the cache
// cutting the database's work. Timings are not checked: this machine may
// be slow and busy.
func TestBenchQuick(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	shop := buildShop(t, dir)
	out := filepath.Join(dir, "results")
	readme := filepath.Join(dir, "README.md")
	os.WriteFile(readme, []byte("# Shop\n<!-- bench:begin scale=1 -->\n<!-- bench:end scale=1 -->\n"), 0o644)
	env := append(os.Environ(), "SHOPBENCH_TEST_MAIN=1", "DATABASE_URL="+testdb.ServerURL(), "REDIS_URL=")
	// The benchmark's shops are not under test for their timeouts.
	for k, v := range cachetest.Relaxed() {
		env = append(env, k+"="+v)
	}

	var help testlog.Buffer
	cmd := exec.Command(shop, "bench", "-h")
	cmd.Env, cmd.Stderr = env, &help
	if err := cmd.Run(); err != nil || !strings.HasPrefix(help.String(), "Usage: shopbench [flags]") {
		t.Fatalf("shop bench -h: %v\n%s", err, help.String())
	}

	var stdout testlog.Buffer
	cmd = exec.Command(shop, "bench", "--quick", "--scale", "1", "--seed", "11", "--out", out, "--readme", readme)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, &stdout, testlog.Writer(t)
	if err := cmd.Run(); err != nil {
		t.Fatalf("shop bench: %v", err)
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
	if r.Audit.Audits == 0 || r.Audit.Pages == 0 || r.Audit.Differences != 0 {
		t.Errorf("audits after the load: %d audits, %d pages, %d differences %v", r.Audit.Audits, r.Audit.Pages, r.Audit.Differences, r.Audit.Samples)
	}
	if c := r.Consistency; c.Checks == 0 || c.Mismatches != 0 {
		t.Errorf("consistency sampler: %d checks, %d mismatches", c.Checks, c.Mismatches)
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
	// .ci/run installs wrk; without it the report says so and has none.
	if _, err := exec.LookPath("wrk"); err == nil {
		if s := r.Saturation; s == nil || len(s.Hello) == 0 || len(s.Hello) != len(s.PageHit) || s.Ratio() <= 0 || s.PageHitCPU <= 0 {
			t.Errorf("wrk is installed, and the page hit's saturation is %+v", s)
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

// shopbench answers -h with its usage (flag.ErrHelp: exit status 0), and
// a flag it does not know with its usage and errUsage (exit status 2).
func TestCommandLine(t *testing.T) {
	t.Parallel()
	none := func(string) string { return "" }
	var stderr strings.Builder
	if err := run(context.Background(), []string{"-h"}, none, io.Discard, &stderr); !errors.Is(err, flag.ErrHelp) || !strings.HasPrefix(stderr.String(), "Usage: shopbench [flags]") {
		t.Errorf("-h: %v\n%s", err, stderr.String())
	}
	stderr.Reset()
	err := run(context.Background(), []string{"--no-such-flag"}, none, io.Discard, &stderr)
	if !errors.Is(err, errUsage) || strings.Count(stderr.String(), "flag provided but not defined: -no-such-flag") != 1 || !strings.Contains(stderr.String(), "Usage: shopbench") {
		t.Errorf("--no-such-flag: %v\n%s", err, stderr.String())
	}
	stderr.Reset()
	err = run(context.Background(), []string{"--shop", "/no/such/shop"}, none, io.Discard, &stderr)
	if err == nil || !strings.Contains(err.Error(), "no shop binary to benchmark at /no/such/shop") {
		t.Errorf("a shop binary that is not there: %v", err)
	}
}
