package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"example.com/shop/internal/bench"
)

// benchEnv is added to the environment of the shops the benchmark starts
// (tests make their own binary the shop with it).
var benchEnv []string

func benchCmd(ctx context.Context, cfg config, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", "", stderr)
	scale := fs.Float64("scale", 1, "dataset size: 1 is about a thousand products")
	seedValue := fs.Int64("seed", 1, "picks the dataset and the requests: the same seed makes the same run")
	quick := fs.Bool("quick", false, "a short run (under 2 minutes): off and memory only, short steps")
	configs := fs.String("configs", "", "comma-separated configurations to run (off, memory, redis, tiered, no-http, no-page, no-fragment, no-query, no-aggregate); empty: all")
	slo := fs.Duration("slo", 0, "the p99 a sustained rate must meet (default 50ms)")
	out := fs.String("out", filepath.Join("bench", "results"), "directory of the report")
	readme := fs.String("readme", "", "README whose results table to update (between <!-- bench:begin --> and <!-- bench:end -->)")
	profile := fs.Bool("profile", false, "save CPU profiles of the cache-on shop")
	rewrite := fs.String("report", "", "write the report (Markdown, plots, and the README table with --readme) again from a run's JSON, without measuring")
	redisServer := fs.String("redis-server", "", "redis-server binary for the Redis configurations (default: from PATH)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the shop binary: %w", err)
	}
	opts := bench.Options{
		Command: []string{self}, Env: benchEnv, DatabaseURL: cfg.DatabaseURL,
		RedisServer: *redisServer, RedisURL: cfg.Cache.RedisURL,
		Scale: *scale, Seed: *seedValue, Quick: *quick, SLO: *slo, Profile: *profile,
		Out: *out, Progress: stderr,
	}
	for _, c := range strings.Split(*configs, ",") {
		if c = strings.TrimSpace(c); c != "" {
			opts.Configs = append(opts.Configs, c)
		}
	}
	var report *bench.Report
	if *rewrite != "" {
		if report, err = bench.Read(*rewrite); err != nil {
			return err
		}
		paths, err := bench.Rewrite(report, *out)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote %s\n", strings.Join(paths, ", "))
	} else if report, err = bench.Run(ctx, opts); err != nil {
		return err
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
