package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"example.com/shop/internal/cache/backend"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/logging"
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
// environment and output, so that tests can call it the same way. Help
// asked for with -h or --help (on stderr, where Go's flag package writes a
// command's usage) is a success; a command line it cannot run is a
// usageError.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return &usageError{err: errors.New("no command given")}
	}
	switch args[0] {
	case "help":
		fmt.Fprint(stdout, usage)
		return nil
	case "-h", "-help", "--help":
		fmt.Fprint(stderr, usage)
		return nil
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	logger := newLogger(cfg, stderr)
	// go-redis reports some trouble (a pool that cannot dial, a failover)
	// only through its own logger, one per process, which would print to
	// the process's stderr in a format of its own: this is the one place
	// the shop points it at the shop's log. Once run returns, the clients
	// it opened are closed and stderr may be gone (a test's buffer), so
	// the library is left quiet.
	redis.SetLogger(backend.RedisLog{Logger: logger})
	defer redis.SetLogger(&logging.VoidLogger{})
	err = command(ctx, cfg, args[0], args[1:], logger, stdout, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

func command(ctx context.Context, cfg config, cmd string, args []string, logger *slog.Logger, stdout, stderr io.Writer) error {
	switch cmd {
	case "serve":
		return serve(ctx, cfg, args, logger, stdout, stderr)
	case "migrate":
		return migrate(ctx, cfg, args, stdout, stderr)
	case "seed":
		return seedCmd(ctx, cfg, args, stdout, stderr)
	case "warm":
		return warmCmd(ctx, cfg, args, logger, stdout, stderr)
	case "cache":
		return cacheCmd(ctx, cfg, args, logger, stdout, stderr)
	case "bench":
		return benchCmd(ctx, cfg, args, stdout, stderr)
	}
	fmt.Fprint(stderr, usage)
	return &usageError{err: fmt.Errorf("unknown command %q", cmd)}
}

// usageError is a command line the shop cannot run (an unknown command or
// flag, missing arguments): the process exits with 2, as Go's flag
// package does, rather than the 1 of a command that failed.
type usageError struct {
	err error
	// shown: the flag package has printed the error already, with the
	// usage; printing it again would say it twice.
	shown bool
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// exitCode is the process's exit status after run returned err: 0, 2 for
// a usageError, 1 otherwise. It prints the error on stderr, once.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var ue *usageError
	if errors.As(err, &ue) {
		if !ue.shown {
			fmt.Fprintln(stderr, "shop:", err)
		}
		return 2
	}
	fmt.Fprintln(stderr, "shop:", err)
	return 1
}

func newLogger(cfg config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// newFlags returns a flag set for a command that writes its usage to w
// (stderr) and returns errors instead of exiting. operands is what the
// command takes after its flags, for the usage line.
func newFlags(name, operands string, w io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("shop "+name, flag.ContinueOnError)
	fs.SetOutput(w)
	fs.Usage = func() {
		fmt.Fprintf(w, "Usage: %s\n\nFlags:\n", strings.TrimSpace("shop "+name+" [flags] "+operands))
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses a command's flags. On -h or --help the usage has been
// printed and the error is flag.ErrHelp (run turns it into a success); on
// a bad flag the flag package has printed the error and the usage, and the
// error is a usageError that says so.
func parseFlags(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return err
	}
	return &usageError{err: err, shown: true}
}
