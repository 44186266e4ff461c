package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
)

const usage = `Usage: shop <command> [flags]

Commands:
  serve     serve the shop over HTTP (--addr, --setup, --warm=auto|always|never)
  migrate   apply, roll back or list database migrations (up | down | status)
  seed      fill an empty database with a generated dataset (--scale, --seed, --reset)
  warm      fill a shared cache with the most visited pages (--home, --categories, --products)
  cache     look into the cache and act on it (stats, keys PATTERN, flush ALIAS, invalidate TAG)
  bench     measure what each cache layer buys, cache off against on (--scale, --quick)
  help      show this text

Run "shop <command> -h" for a command's flags. Settings come from the
environment: DATABASE_URL, SHOP_ADDR and the others listed in the README.
`

// run is the whole program: main only hands it the process's arguments,
// environment and output, so that tests can call it the same way.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	logger := newLogger(cfg, stderr)
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return serve(ctx, cfg, rest, logger, stdout)
	case "migrate":
		return migrate(ctx, cfg, rest, stdout)
	case "seed":
		return seedCmd(ctx, cfg, rest, stdout, stderr)
	case "warm":
		return warmCmd(ctx, cfg, rest, logger, stdout, stderr)
	case "cache":
		return cacheCmd(ctx, cfg, rest, logger, stdout, stderr)
	case "bench":
		return benchCmd(ctx, cfg, rest, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

func newLogger(cfg config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// newFlags returns a flag set for a command that writes its help to w and
// returns errors instead of exiting.
func newFlags(name string, w io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("shop "+name, flag.ContinueOnError)
	fs.SetOutput(w)
	return fs
}
