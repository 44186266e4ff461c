// Command shopbench measures what each of the shop's cache layers buys. It
// starts `shop serve` processes of a shop binary (cache off, each store,
// each layer off in turn) on a benchmark dataset of their own, loads them
// at fixed rates, and writes a report (JSON, Markdown and plots), and with
// --readme the results table of a README. `make bench` runs it; so does
// `shop bench`, which hands over its flags. It is a command of its own so
// that the serving binary links neither the load generator nor the plots.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"example.com/shop/internal/bench"
	"example.com/shop/internal/db"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.Is(err, errUsage):
		os.Exit(2) // the flag package has said what was wrong
	}
	fmt.Fprintln(os.Stderr, "shopbench:", err)
	os.Exit(1)
}

// errUsage is a command line shopbench cannot run; the flag package has
// printed the error and the usage.
var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("shopbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: shopbench [flags]\n\nThe database is DATABASE_URL's server (the dataset gets a database of its own);\nthe Redis configurations use REDIS_URL, or a redis-server of their own.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	shopBinary := fs.String("shop", "", "the shop binary to start (default: shop beside shopbench)")
	scale := fs.Float64("scale", 1, "dataset size: 1 is about a thousand products")
	seedValue := fs.Int64("seed", 1, "picks the dataset and the requests: the same seed makes the same run")
	quick := fs.Bool("quick", false, "a short run (under 2 minutes): off and memory only, short steps")
	configs := fs.String("configs", "", "comma-separated configurations to run (off, memory, redis, tiered, tiered-2, no-http, no-page, no-fragment, no-query, no-aggregate); empty: all")
	slo := fs.Duration("slo", 0, "the p99 a sustained rate must meet (default 50ms)")
	out := fs.String("out", filepath.Join("bench", "results"), "directory of the report")
	readme := fs.String("readme", "", "README whose results table of the run's scale to update (between <!-- bench:begin scale=N --> and <!-- bench:end scale=N -->)")
	profile := fs.Bool("profile", false, "save CPU profiles of the cache-on shop")
	rewrite := fs.String("report", "", "write the report (Markdown, plots, and the README table with --readme) again from a run's JSON, without measuring")
	redisServer := fs.String("redis-server", "", "redis-server binary for the Redis configurations (default: from PATH)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "shopbench takes no arguments, only flags: %q\n", fs.Args())
		fs.Usage()
		return errUsage
	}

	var report *bench.Report
	var err error
	if *rewrite != "" {
		if report, err = bench.Read(*rewrite); err != nil {
			return err
		}
		paths, err := bench.Rewrite(report, *out)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote %s\n", strings.Join(paths, ", "))
	} else {
		shop, err := findShop(*shopBinary)
		if err != nil {
			return err
		}
		opts := bench.Options{
			Command: []string{shop}, DatabaseURL: cmp.Or(getenv("DATABASE_URL"), db.DefaultURL),
			RedisServer: *redisServer, RedisURL: strings.TrimSpace(getenv("REDIS_URL")),
			Scale: *scale, Seed: *seedValue, Quick: *quick, SLO: *slo, Profile: *profile,
			Out: *out, Progress: stderr,
		}
		for _, c := range strings.Split(*configs, ",") {
			if c = strings.TrimSpace(c); c != "" {
				opts.Configs = append(opts.Configs, c)
			}
		}
		if report, err = bench.Run(ctx, opts); err != nil {
			return err
		}
	}
	if *readme != "" {
		link := filepath.ToSlash(filepath.Join(*out, report.Stem()+".md"))
		if err := bench.UpdateREADME(*readme, report, link); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "updated the results in %s\n", *readme)
	}
	fmt.Fprint(stdout, bench.Summary(report, ""))
	return nil
}

// findShop returns the shop binary to benchmark: path when given, else
// the shop beside this binary (make build puts both in bin/).
func findShop(path string) (string, error) {
	if path == "" {
		self, err := os.Executable()
		if err != nil {
			return "", fmt.Errorf("find the shop binary: %w", err)
		}
		path = filepath.Join(filepath.Dir(self), "shop")
	}
	if _, err := exec.LookPath(path); err != nil {
		return "", fmt.Errorf("no shop binary to benchmark at %s (make build builds it; or give --shop): %w", path, err)
	}
	return path, nil
}
