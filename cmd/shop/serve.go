package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"example.com/shop/internal/cache"
	"example.com/shop/internal/db"
	"example.com/shop/internal/seed"
	"example.com/shop/internal/warm"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"
)

// warmMode says when serve warms the caches before it says it is ready.
type warmMode string

const (
	warmAuto   warmMode = "auto"   // when the deploy fingerprint is new to the cache
	warmAlways warmMode = "always" // at every start
	warmNever  warmMode = "never"
)

func (m *warmMode) String() string { return string(*m) }

func (m *warmMode) Set(v string) error {
	switch warmMode(v) {
	case warmAuto, warmAlways, warmNever:
		*m = warmMode(v)
		return nil
	case "true":
		*m = warmAlways
		return nil
	case "false":
		*m = warmNever
		return nil
	}
	return fmt.Errorf("use auto, always or never")
}

func (m *warmMode) IsBoolFlag() bool { return true }

var _ flag.Value = (*warmMode)(nil)

func serve(ctx context.Context, cfg config, args []string, logger *slog.Logger, stdout, stderr io.Writer) error {
	fs := newFlags("serve", "", stderr)
	fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "address to listen on")
	setup := fs.Bool("setup", false, "create the database if missing, migrate, and seed scale 1 when empty (what make run does)")
	migrateFirst := fs.Bool("migrate", true, "apply pending migrations before serving")
	mode := warmAuto
	fs.Var(&mode, "warm", "warm the caches before /readyz says ready: auto (after a deploy that changed templates or key versions), always (--warm) or never")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	logger.Info("starting", "config", cfg)

	if *setup {
		if err := createDatabase(ctx, cfg.DatabaseURL, stdout); err != nil {
			return err
		}
	}
	if *setup || *migrateFirst {
		if err := withPool(ctx, cfg.DatabaseURL, func(pool *pgxpool.Pool) error { return db.MigrateUp(ctx, pool, stdout) }); err != nil {
			return err
		}
	}
	if *setup {
		err := withPool(ctx, cfg.DatabaseURL, func(pool *pgxpool.Pool) error {
			empty, err := seed.IsEmpty(ctx, pool)
			if err != nil || !empty {
				return err
			}
			fmt.Fprintln(stdout, "the database is empty: seeding a small dataset (scale 1)")
			_, err = seedDatabase(ctx, cfg, pool, 1, 1, stdout)
			return err
		})
		if err != nil {
			return err
		}
	}

	// Ready once the change listener listens and the warm-up is done.
	var warmed atomic.Bool
	ready := func() error {
		if !warmed.Load() {
			return errors.New("warming the caches")
		}
		return nil
	}
	// The access log goes where the log goes, its lines written together.
	access := newLogBuffer(stderr)
	defer access.Close()
	s, err := openShop(ctx, cfg, logger, newLogger(cfg, access), ready)
	if err != nil {
		return err
	}
	defer s.Close()
	logger.Info("caches", "config", s.caches.Config)

	listener := s.services.Changes

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      cfg.RequestTimeout + 5*time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}

	// Everything the shop runs beside the services' own work, in one
	// group: the server, the change listener, the sampler and the
	// warm-up. They stop once the last request is answered (the server
	// first, below) and are waited for before the shop closes: this
	// deferred call runs before the Close deferred above.
	var jobs errgroup.Group
	work, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer func() {
		stopWork()
		_ = jobs.Wait()
	}()
	jobs.Go(func() error { listener.Run(work); return nil })
	jobs.Go(func() error { s.services.Sampler.Run(work); return nil })
	serveErr := make(chan error, 1)
	jobs.Go(func() error { serveErr <- srv.Serve(ln); return nil })
	warmDone := make(chan struct{})
	jobs.Go(func() error {
		defer close(warmDone)
		defer warmed.Store(true)
		// After the catch-up: one that invalidates everything would
		// empty what the warm-up filled.
		select {
		case <-listener.Ready():
		case <-work.Done():
			return nil
		}
		if _, err := warmOnStart(work, s, cfg, mode, logger); err != nil && work.Err() == nil {
			logger.Warn("warming the caches failed; serving cold", "err", err)
		}
		return nil
	})

	// The address (and, on `make run`, the logins) is printed once the
	// shop is ready, after what the start logs, so that it is the last
	// thing on the screen; or after a while, with what it waits for.
	announce := func(note string) {
		fmt.Fprintf(stdout, "the shop is serving on http://%s%s\n", displayAddr(ln.Addr()), note)
		if *setup {
			printLogins(stdout, cfg)
		}
	}
	done, notYet := (<-chan struct{})(warmDone), time.After(30*time.Second)
	for ctx.Err() == nil {
		select {
		case err := <-serveErr:
			return fmt.Errorf("serve: %w", err)
		case <-done:
			if ctx.Err() == nil {
				announce("")
			}
			done, notYet = nil, nil
		case <-notYet:
			note := ""
			if err := s.services.Ready(); err != nil {
				note = " (not ready yet: " + err.Error() + ")"
			}
			announce(note)
			done, notYet = nil, nil
		case <-ctx.Done():
		}
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// warmOnStart warms the critical caches (the home page, the categories
// and the 200 best-selling products) when mode says so: always, or on a
// deploy whose templates or key versions the cache has not seen (the first
// instance to start after it warms; the others find the mark).
// It returns what it warmed; zero when it did not.
func warmOnStart(ctx context.Context, s *shop, cfg config, mode warmMode, logger *slog.Logger) (warm.Summary, error) {
	if mode == warmNever || s.caches.Default.Off() {
		return warm.Summary{}, nil
	}
	var mark string
	if mode == warmAuto {
		fp := deployFingerprint(s.caches.Config)
		mark = cache.Key("warmed", fp)
		first, err := s.caches.Default.Claim(ctx, mark, 30*24*time.Hour)
		if err != nil {
			return warm.Summary{}, err
		}
		if !first {
			logger.Info("caches already warm for this deploy", "fingerprint", fp)
			return warm.Summary{}, nil
		}
	}
	sum, err := warm.Run(ctx, s.handler, db.New(s.pool), warm.Options{
		Home: true, Categories: true, Products: true, MaxProducts: 200, Concurrency: 4, Logger: logger,
	})
	if mark != "" && (err != nil || sum.Errors > 0) {
		// Not warm after all: the next instance to start tries again.
		_ = s.caches.Default.Delete(context.WithoutCancel(ctx), mark)
	}
	s.services.Metrics.Warmed(sum, err)
	logger.Info("warmed the caches", "pages", sum.Pages, "keys", sum.Keys, "bytes", sum.Bytes, "errors", sum.Errors, "took", sum.Took.Round(time.Millisecond))
	return sum, err
}

// displayAddr turns a listening address into one a browser can open.
func displayAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}
